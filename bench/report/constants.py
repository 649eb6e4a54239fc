"""Names, units and percentiles shared by the report, the exporter and the dashboards."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal, get_args

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


class LagStage(StrEnum):
    """The `stage` of a `lag` row, in the lag table's order: an event's way from its commit to
    a search that finds it, then read-your-writes visibility."""

    RELAY = "relay"
    """Committed → acknowledged by Kafka (the outbox relay)."""
    KAFKA = "kafka"
    """Acknowledged by Kafka → consumed by the projector."""
    INDEX = "index"
    """Consumed → its bulk write acknowledged by Elasticsearch."""
    REFRESH = "refresh"
    """Bulk acknowledged → searchable (the index refreshed)."""
    END_TO_END = "end_to_end"
    """Committed → searchable."""
    VISIBILITY = "visibility"
    """Command acknowledged → a query sees it (read-your-writes; also a request name of the
    samples, the derived metric's)."""


STAMPED_STAGES: tuple[LagStage, ...] = (
    LagStage.RELAY,
    LagStage.KAFKA,
    LagStage.INDEX,
    LagStage.REFRESH,
    LagStage.END_TO_END,
)
"""The stages the projectors' lag records (or the services' histograms) measure, in order."""
ES_STAGES: tuple[LagStage, ...] = (LagStage.INDEX, LagStage.REFRESH)
"""The stages Elasticsearch's own ceiling has a step for (its row's `<stage>_p50`, `_p99`)."""

Section = Literal[
    "ceilings",
    "replay",
    "append",
    "conflicts",
    "projection",
    "relay",
    "peers",
    "serialization",
    "load",
    "lag",
    "audit",
    "targets",
    "faults",
    "saturation",
    "resources",
]
SECTIONS: tuple[Section, ...] = get_args(Section)
"""Result sections in report order."""

PUSH_JOB = "cqrs-bench-micro"
"""The Pushgateway job of micro runs (grouped by suite)."""

MICRO_METRICS: dict[str, str] = {
    "cqrs_bench_replay_seconds": "Time to rehydrate one aggregate (median of the rounds).",
    "cqrs_bench_replay_events_per_second": "Events rehydrated per second.",
    "cqrs_bench_append_events_per_second": "Events appended per second.",
    "cqrs_bench_append_p99_seconds": "99th percentile of one append's latency.",
    "cqrs_bench_conflict_rate": "Conflicts per attempt, measured or predicted by the model.",
    "cqrs_bench_committed_commands_per_second": "Commands committed per second under contention.",
    "cqrs_bench_projection_events_per_second": "Events one projector applies per second.",
    "cqrs_bench_ceiling_events_per_second": "Raw service ceiling measured in the same run.",
    "cqrs_bench_ceiling_ratio": "Our figure divided by its ceiling.",
    "cqrs_bench_peer_ratio": "Ours divided by the peer's figure (higher is better for us).",
    "cqrs_bench_run_timestamp_seconds": "When the pushed run finished (Unix time).",
}
"""Every metric the micro run pushes, with its help text (the dashboards use these names)."""

KAFKA_CEILING = "kafka_end_to_end_latency"
"""The `ceilings` row of Kafka's own end-to-end latency (`bench/lag/ceiling.py`)."""
ES_CEILING = "elasticsearch_bulk_refresh_latency"
"""The `ceilings` row of Elasticsearch's own bulk + refresh latency (`bench/lag/es_ceiling.py`)."""

UNIT_EVENTS_PER_S = "events/s"
UNIT_COMMANDS_PER_S = "commands/s"
"""The `unit` of rate rows (ceilings, peers): what one counted unit is."""

MAIN_FIGURE: dict[str, str] = {
    "ceilings": "value",
    "replay": "events_per_s",
    "append": "events_per_s",
    "projection": "events_per_s",
    "relay": "events_per_s",
    "serialization": "events_per_s",
    "peers": "ratio",
    "saturation": "rate",
    "resources": "cores",
}
"""The figure a row's bare `low`/`high` belong to; other figures use `<figure>_low/_high`."""

ROW_PARAMS: dict[str, tuple[str, ...]] = {
    "ceilings": ("name",),
    "replay": ("events", "snapshot_every", "tail_events"),
    "append": ("connections", "batch", "snapshots"),
    "conflicts": ("writers", "aggregates", "skew", "retry"),
    "projection": ("name", "path"),
    "relay": ("name",),
    "serialization": ("codec",),
    "peers": ("peer", "workload", "concurrency"),
    "load": ("scenario", "model"),
    "lag": ("projection", "stage"),
    "audit": ("check",),
    "targets": ("name",),
    "faults": ("service", "action", "planned_at"),
    "saturation": ("kind", "step"),
    "resources": ("process",),
}
"""The parameters that identify a row of each section (what `compare` matches rows by)."""


def step_dir(out: Path, rate: float, stretch: int = 1) -> Path:
    """Where the step at `rate` writes its load run; a recheck `stretch` times as long writes
    beside it, in rate-R-xN."""
    return out / "steps" / (f"rate-{rate:g}" + (f"-x{stretch}" if stretch > 1 else ""))
