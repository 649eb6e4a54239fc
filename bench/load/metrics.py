"""Names and buckets of the load generator's Prometheus metrics (exporter and dashboards)."""

from __future__ import annotations

EXPORTER_HOST = "127.0.0.1"
"""The exporter's default bind address (locust's `--exporter-host`; compose uses 0.0.0.0)."""
EXPORTER_PORT = 18089

REQUESTS_TOTAL = "cqrs_load_requests_total"
LATENCY_SECONDS = "cqrs_load_latency_seconds"
USERS = "cqrs_load_users"
TARGET_RPS = "cqrs_load_target_rps"

LATENCY_BUCKETS_SECONDS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
