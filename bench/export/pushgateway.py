"""Push a run's figures to the Pushgateway (`cqrs_bench_*`, base units, few labels).

Each run is its own group — job, suite, run id and git revision — so a run never overwrites the
last one and the dashboards can compare runs side by side (`run_id` variable). Micro runs push
their sections (`push`), load runs their load and lag rows (`push_load`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from bench.export import metric_names as n
from bench.report.constants import MICRO_METRICS, UNIT_EVENTS_PER_S

REVISION_CHARS = 12

Setter = Callable[..., None]


def _label(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def grouping_key(data: Mapping[str, Any]) -> dict[str, str]:
    """The run's group on the Pushgateway besides the job: suite, run id and git revision."""
    environment = data.get("environment") or {}
    revision = (environment.get("git_revision") or "unknown")[:REVISION_CHARS]
    if environment.get("git_dirty"):
        revision += "-dirty"
    return {"suite": str(data["suite"]), "run_id": str(data["run_id"]), "revision": revision}


def _registry(helps: Mapping[str, str]) -> tuple[CollectorRegistry, Setter]:
    registry = CollectorRegistry()
    gauges: dict[str, Gauge] = {}

    def set_(name: str, value: float, **labels: Any) -> None:
        if name not in gauges:
            gauges[name] = Gauge(name, helps[name], sorted(labels), registry=registry)
        gauge = gauges[name]
        if labels:
            gauge = gauge.labels(**{k: _label(v) for k, v in labels.items()})
        gauge.set(value)

    return registry, set_


def _finished(data: Mapping[str, Any], set_: Setter) -> None:
    finished = data.get("finished_at")
    if finished:
        set_(n.RUN_TIMESTAMP, datetime.fromisoformat(finished).timestamp())


def registry_for(data: Mapping[str, Any]) -> CollectorRegistry:
    """One gauge per figure of a micro run; labels are parameters (sizes, intervals), never ids."""
    registry, set_ = _registry(MICRO_METRICS)
    for r in data.get("replay", []):
        keys = {"events": r["events"], "snapshot_every": r["snapshot_every"]}
        set_("cqrs_bench_replay_seconds", r["seconds"], **keys)
        set_("cqrs_bench_replay_events_per_second", r["events_per_s"], **keys)
        if r["ratio"] is not None:
            set_(
                "cqrs_bench_ceiling_ratio",
                r["ratio"],
                section="replay",
                case=f"events={r['events']},snapshot_every={_label(r['snapshot_every'])}",
            )
    for r in data.get("append", []):
        keys = {
            "connections": r["connections"],
            "batch": r["batch"],
            "snapshots": r.get("snapshots", False),
        }
        set_("cqrs_bench_append_events_per_second", r["events_per_s"], **keys)
        set_("cqrs_bench_append_p99_seconds", r["p99_seconds"], **keys)
        if r["ratio"] is not None:
            set_(
                "cqrs_bench_ceiling_ratio",
                r["ratio"],
                section="append",
                case=f"connections={r['connections']},batch={r['batch']},"
                f"snapshots={_label(r.get('snapshots', False))}",
            )
    for r in data.get("conflicts", []):
        keys = {"writers": r["writers"], "skew": r["skew"], "retry": r["retry"]}
        set_("cqrs_bench_conflict_rate", r["conflict_rate"], source="measured", **keys)
        set_("cqrs_bench_conflict_rate", r["predicted_conflict_rate"], source="model", **keys)
        set_("cqrs_bench_committed_commands_per_second", r["committed_per_s"], **keys)
    for r in data.get("projection", []):
        case = r["name"] if r.get("path") in (None, "rebuild") else f"{r['name']}/{r['path']}"
        set_("cqrs_bench_projection_events_per_second", r["events_per_s"], projection=case)
        if r["ratio"] is not None:
            set_("cqrs_bench_ceiling_ratio", r["ratio"], section="projection", case=case)
    for r in data.get("relay", []):
        if r["ratio"] is not None:
            set_("cqrs_bench_ceiling_ratio", r["ratio"], section="relay", case=r["name"])
    for r in data.get("ceilings", []):
        if r["unit"] == UNIT_EVENTS_PER_S:
            set_("cqrs_bench_ceiling_events_per_second", r["value"], ceiling=r["name"])
    for r in data.get("peers", []):
        set_(
            "cqrs_bench_peer_ratio",
            r["ratio"],
            peer=r["peer"],
            workload=r["workload"],
            concurrency=str(r.get("concurrency", "")),
        )
    _finished(data, set_)
    return registry


def load_registry_for(data: Mapping[str, Any]) -> CollectorRegistry:
    """A load run's summary: rates, counts, latency percentiles raw and corrected (label
    `latency`), and lag percentiles by projection and stage (label `percentile`)."""
    registry, set_ = _registry(n.LOAD_METRICS)
    for r in data.get("load", []):
        keys = {"scenario": r["scenario"], "model": r["model"]}
        if r.get("target_rps") is not None:
            set_(n.LOAD_TARGET_RPS_PUSHED, r["target_rps"], **keys)
        set_(n.LOAD_ACHIEVED_RPS_PUSHED, r["achieved_rps"], **keys)
        set_("cqrs_bench_load_requests", r["requests"], **keys)
        set_("cqrs_bench_load_failures", r["failures"], **keys)
        set_("cqrs_bench_load_conflicts", r["conflicts"], **keys)
        if r.get("unsent") is not None:
            set_("cqrs_bench_load_unsent", r["unsent"], **keys)
        for latency, figures in (("raw", r["latency_seconds"]), ("corrected", r.get("corrected"))):
            for key in n.LATENCY_PERCENTILES:
                if figures and figures.get(key) is not None:
                    set_(
                        n.LOAD_LATENCY_PUSHED, figures[key], latency=latency, percentile=key, **keys
                    )
    for r in data.get("lag", []):
        for key in n.LAG_PERCENTILES:
            if r.get(key) is not None:
                set_(
                    n.LAG_PUSHED,
                    r[key],
                    projection=r["projection"],
                    stage=r["stage"],
                    percentile=key,
                )
    _finished(data, set_)
    return registry


def push(data: Mapping[str, Any], gateway_url: str) -> None:
    """Push a micro run's results.json (`data`) as its own group of job `cqrs-bench-micro`."""
    push_to_gateway(
        gateway_url,
        job=n.MICRO_JOB,
        registry=registry_for(data),
        grouping_key=grouping_key(data),
        timeout=10,
    )


def push_load(data: Mapping[str, Any], gateway_url: str) -> None:
    """Push a load run's results.json (`data`: its load and lag rows) as its own group of job
    `cqrs-bench-load`; raises OSError when the Pushgateway cannot be reached."""
    push_to_gateway(
        gateway_url,
        job=n.LOAD_JOB,
        registry=load_registry_for(data),
        grouping_key=grouping_key(data),
        timeout=10,
    )
