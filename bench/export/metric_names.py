"""Metric names, labels and Grafana units shared by the exporters, the Pushgateway and dashboards.

The system's own metrics are defined in `system/metrics.py` and `system/api/middleware.py`; the
names here must match them (a unit test checks every name against the registry), so a renamed
metric fails a test instead of silently emptying a panel.
"""

from __future__ import annotations

from bench.load import metrics as load_metrics
from bench.report.constants import (
    LAG_KEYS,
    LATENCY_KEYS,
    PERCENTILES_TO_REPORT,
    PUSH_JOB,
    LagStage,
)

# The system under test (scraped from the api, relay and projector).
COMMANDS_TOTAL = "cqrs_commands_total"
COMMAND_ATTEMPTS_TOTAL = "cqrs_command_attempts_total"
COMMAND_CONFLICTS_TOTAL = "cqrs_command_conflicts_total"
COMMAND_DURATION = "cqrs_command_duration_seconds"
HTTP_REQUESTS_TOTAL = "cqrs_http_requests_total"
HTTP_DURATION = "cqrs_http_request_duration_seconds"
PROJECTION_LAG = "cqrs_projection_lag_seconds"
RELAY_LAG = "cqrs_relay_lag_seconds"
PROJECTION_EVENTS_TOTAL = "cqrs_projection_events_total"
PROJECTION_DUPLICATES_TOTAL = "cqrs_projection_duplicates_total"
PROJECTION_POSITION = "cqrs_projection_position"
OUTBOX_BACKLOG = "cqrs_outbox_backlog"
RELAY_PUBLISHED_TOTAL = "cqrs_relay_published_total"
RELAY_BATCH = "cqrs_relay_batch_seconds"

PROJECTION_CONSUMER_LAG = "cqrs_projection_consumer_lag"
"""Gauge{projection}: messages the projection's consumer group has not consumed (Kafka)."""
PROJECTION_POSITION_LAG = "cqrs_projection_position_lag"
"""Gauge{projection}: events committed in PostgreSQL beyond the projection's checkpoint."""
PROJECTOR_LAG_GAUGES: tuple[str, ...] = (PROJECTION_CONSUMER_LAG, PROJECTION_POSITION_LAG)
"""Exported by the projector (issue 11); the dashboards read them by these names."""

HISTOGRAM_DELIVERY_STAGE = "delivery"
"""The projector's own stage committed → consumed: the lag's relay and kafka stages together."""
HISTOGRAM_LAG_STAGES: tuple[str, ...] = (
    HISTOGRAM_DELIVERY_STAGE,
    LagStage.INDEX,
    LagStage.REFRESH,
    LagStage.END_TO_END,
)
"""The `stage` values of `cqrs_projection_lag_seconds` (the projector's view)."""

# The load generator (locust's exporter, bench/scenarios/exporter.py).
LOAD_REQUESTS_TOTAL = load_metrics.REQUESTS_TOTAL
LOAD_LATENCY = load_metrics.LATENCY_SECONDS
LOAD_USERS = load_metrics.USERS
LOAD_TARGET_RPS = load_metrics.TARGET_RPS

# What runs push to the Pushgateway.
MICRO_JOB = PUSH_JOB
LOAD_JOB = "cqrs-bench-load"
"""The Pushgateway job of load runs (grouped like micro runs by suite, run id and revision)."""
GROUPING_LABELS: tuple[str, ...] = ("suite", "run_id", "revision")
"""The grouping key of every push besides the job: one group per run, so runs never overwrite."""

RUN_TIMESTAMP = "cqrs_bench_run_timestamp_seconds"
LOAD_METRICS: dict[str, str] = {
    "cqrs_bench_load_target_requests_per_second": "Open model: the mean target arrival rate.",
    "cqrs_bench_load_achieved_requests_per_second": "Requests completed per second.",
    "cqrs_bench_load_requests": "Requests the run completed (measured phase).",
    "cqrs_bench_load_failures": "Requests that failed (errors, not 409 or 202).",
    "cqrs_bench_load_conflicts": "Requests answered 409 (optimistic-concurrency conflicts).",
    "cqrs_bench_load_unsent": "Open model: requests scheduled and never sent.",
    "cqrs_bench_load_latency_seconds": "Latency percentile, raw (from the send) or corrected"
    " (from the intended start, for coordinated omission).",
    "cqrs_bench_lag_seconds": "Projection lag percentile by projection and stage.",
    RUN_TIMESTAMP: "When the pushed run finished (Unix time).",
}
"""Every metric a load run pushes, with its help text."""
LOAD_TARGET_RPS_PUSHED = "cqrs_bench_load_target_requests_per_second"
LOAD_ACHIEVED_RPS_PUSHED = "cqrs_bench_load_achieved_requests_per_second"
LOAD_LATENCY_PUSHED = "cqrs_bench_load_latency_seconds"
LAG_PUSHED = "cqrs_bench_lag_seconds"

LATENCY_PERCENTILES = LATENCY_KEYS
"""Percentile keys a load run pushes (`percentile` label), as in results.json."""
LAG_PERCENTILES = LAG_KEYS
DASHBOARD_QUANTILES: tuple[tuple[str, float], ...] = tuple(
    (key, q) for key, q in PERCENTILES_TO_REPORT if key in ("p50", "p99")
)
"""The percentiles a busy panel draws (every percentile would bury the lines)."""

# Grafana unit ids.
UNIT_SECONDS = "s"
UNIT_REQUESTS_PER_S = "reqps"
UNIT_OPS_PER_S = "ops"
UNIT_RATIO = "percentunit"
UNIT_COUNT = "short"
UNIT_EVENTS = "short"
