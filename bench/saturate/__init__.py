"""`cqrs-bench saturate`: the highest open-model rate that meets a latency SLO."""
