"""Names, units and percentiles shared by the report, the exporter and the dashboards."""

from __future__ import annotations

SCHEMA_ID = "cqrs-bench/results/1"
"""The `schema` value of every results.json this code writes."""

PERCENTILES_TO_REPORT: tuple[tuple[str, float], ...] = (
    ("p50", 0.50),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p999", 0.999),
)
"""Latency percentiles as (key in results.json, quantile); `max` is reported beside them."""

LATENCY_KEYS: tuple[str, ...] = (*(key for key, _ in PERCENTILES_TO_REPORT), "max")
LAG_KEYS: tuple[str, ...] = ("p50", "p90", "p99", "max")
LAG_STAGES: tuple[str, ...] = ("relay", "kafka", "index", "refresh", "end_to_end", "visibility")

SECTIONS: tuple[str, ...] = (
    "ceilings",
    "replay",
    "append",
    "conflicts",
    "projection",
    "peers",
    "load",
    "lag",
    "audit",
)
"""Result sections in report order."""

METRIC_PREFIX = "cqrs_bench_"
"""Prefix of the figures the micro suites push to the Pushgateway."""

UNIT_EVENTS_PER_S = "events/s"
UNIT_COMMANDS_PER_S = "commands/s"
UNIT_SECONDS = "s"
