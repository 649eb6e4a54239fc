"""Load generation: open and closed pacing, raw samples, HdrHistogram latency, locust processes,
seeding and calibration; `bench/run/` puts a run together."""
