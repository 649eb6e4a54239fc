"""Push a micro run's figures to the Pushgateway (`cqrs_bench_*`, base units, few labels)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from bench.report.constants import MICRO_METRICS, PUSH_JOB


def _label(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def registry_for(data: Mapping[str, Any]) -> CollectorRegistry:
    """One gauge per figure of the run; labels are parameters (sizes, intervals), never ids."""
    registry = CollectorRegistry()
    gauges: dict[str, Gauge] = {}

    def set_(name: str, value: float, **labels: Any) -> None:
        if name not in gauges:
            gauges[name] = Gauge(name, MICRO_METRICS[name], sorted(labels), registry=registry)
        gauge = gauges[name]
        if labels:
            gauge = gauge.labels(**{k: _label(v) for k, v in labels.items()})
        gauge.set(value)

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
        if r["unit"] == "events/s":
            set_("cqrs_bench_ceiling_events_per_second", r["value"], ceiling=r["name"])
    for r in data.get("peers", []):
        set_("cqrs_bench_peer_ratio", r["ratio"], peer=r["peer"], workload=r["workload"])
    finished = data.get("finished_at")
    if finished:
        set_("cqrs_bench_run_timestamp_seconds", datetime.fromisoformat(finished).timestamp())
    return registry


def push(data: Mapping[str, Any], gateway_url: str) -> None:
    """Replace the run's group (job `cqrs-bench-micro`, suite) on the Pushgateway."""
    push_to_gateway(
        gateway_url,
        job=PUSH_JOB,
        registry=registry_for(data),
        grouping_key={"suite": str(data["suite"])},
        timeout=10,
    )
