"""Results → plain tables (title, header, rows of text) that markdown.py and html.py render."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.report.analysis import break_even, fitted_break_even, tail_cost
from bench.report.constants import LATENCY_KEYS, SECTIONS
from bench.report.lag_ceilings import lag_lines
from bench.report.rechecks import marked_steps, recheck_lines
from bench.report.targets import figure_interval


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def rate(x: Any) -> str:
    return "-" if x is None else f"{x:,.0f}"


def seconds(x: Any) -> str:
    if x is None:
        return "-"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.2f} ms"
    return f"{x * 1e6:.1f} µs"


def ratio(x: Any) -> str:
    return "-" if x is None else f"{x:.0%}"


def times(x: Any) -> str:
    return "-" if x is None else f"{x:.2f}x"


def trend(x: Any) -> str:
    """A trend z (`ratio_trend_z`) as `-0.16`; `-` when the row has none, as elsewhere."""
    return "-" if x is None else f"{x:.2f}"


def snapshot(x: Any) -> str:
    return "off" if x is None else f"{x:,}"


def plain(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def by_status(x: Any) -> str:
    """`{"503": 4}` as `503: 4`; `none` for no errors."""
    if not isinstance(x, dict):
        return plain(x)
    return ", ".join(f"{k}: {v}" for k, v in sorted(x.items())) or "none"


def fraction(x: Any) -> str:
    return "-" if x is None else f"{x:.1%}"


def cores(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def milliseconds(x: Any) -> str:
    return "-" if x is None else f"{x:.3g}"


Column = tuple[str, str, Callable[[Any], str]]

COLUMNS: dict[str, list[Column]] = {
    "ceilings": [("name", "ceiling", plain), ("unit", "unit", plain), ("value", "value", rate)],
    "replay": [
        ("events", "events", plain),
        ("snapshot_every", "snapshot every", snapshot),
        ("tail_events", "replayed (tail)", plain),
        ("seconds", "rehydrate", seconds),
        ("fetch_seconds", "of which fetch", seconds),
        ("decode_fold_seconds", "decode+fold", seconds),
        ("events_per_s", "events/s", rate),
        ("ceiling", "raw fetch events/s", rate),
        ("ratio", "of ceiling", ratio),
        ("plan", "our read", plain),
        ("ceiling_plan", "raw read", plain),
    ],
    "append": [
        ("connections", "connections", plain),
        ("batch", "batch", plain),
        ("snapshots", "snapshots on command path", plain),
        ("events_per_s", "events/s", rate),
        ("p99_seconds", "p99", seconds),
        ("ceiling", "raw insert events/s", rate),
        ("ratio", "of ceiling", ratio),
        ("cpu_seconds_per_event", "CPU/event", seconds),
        ("ceiling_cpu_seconds_per_event", "raw CPU/event", seconds),
        ("cpu_ratio", "CPU raw / ours", ratio),
    ],
    "conflicts": [
        ("writers", "writers", plain),
        ("aggregates", "aggregates", plain),
        ("skew", "skew", plain),
        ("retry", "retry", plain),
        ("attempts", "attempts", plain),
        ("conflicts", "conflicts", plain),
        ("conflict_rate", "conflict rate", fraction),
        ("predicted_conflict_rate", "predicted", fraction),
        ("model_ratio", "measured / predicted", times),
        ("window_seconds", "read→append window (median)", seconds),
        ("window_ratio", "window share of writer time", ratio),
        ("committed_per_s", "committed/s", rate),
        ("p99_seconds", "p99", seconds),
    ],
    "projection": [
        ("name", "projection", plain),
        ("path", "path", plain),
        ("events", "events", plain),
        ("seconds", "time", seconds),
        ("events_per_s", "events/s", rate),
        ("ceiling", "raw bulk events/s", rate),
        ("ratio", "of ceiling", ratio),
        ("kafka_ratio", "of Kafka consume", ratio),
    ],
    "relay": [
        ("name", "relay", plain),
        ("events", "events", plain),
        ("message_bytes", "mean message bytes", rate),
        ("seconds", "time", seconds),
        ("events_per_s", "events/s", rate),
        ("ceiling", "same-work produce events/s", rate),
        ("ratio", "of ceiling", ratio),
    ],
    "peers": [
        ("peer", "peer", plain),
        ("workload", "workload", plain),
        ("concurrency", "compared at", plain),
        ("ours_concurrency", "ours at", plain),
        ("theirs_concurrency", "theirs at", plain),
        ("unit", "unit", plain),
        ("ours", "ours", rate),
        ("theirs", "theirs", rate),
        ("ratio", "ours / theirs", times),
        ("ratio_trend_z", "trend z", trend),
        ("ours_plans", "our plans", plain),
    ],
    "serialization": [
        ("codec", "codec", plain),
        ("seconds_per_event", "encode + decode per event", seconds),
        ("events_per_s", "events/s", rate),
    ],
    "load": [
        ("scenario", "scenario", plain),
        ("model", "model", plain),
        ("target_rps", "target rps", rate),
        ("achieved_rps", "achieved rps", rate),
        ("duration_s", "duration s", plain),
        ("requests", "requests", plain),
        ("failures", "failures", plain),
        ("conflicts", "conflicts", plain),
    ],
    "lag": [
        ("projection", "projection", plain),
        ("stage", "stage", plain),
        ("p50", "p50", seconds),
        ("p90", "p90", seconds),
        ("p99", "p99", seconds),
        ("max", "max", seconds),
    ],
    "audit": [("check", "check", plain), ("passed", "passed", plain), ("detail", "detail", plain)],
    "targets": [
        ("verdict", "verdict", plain),
        ("name", "target", plain),
        ("value", "measured [95% interval]", plain),
        ("threshold", "threshold", plain),
        ("goal", "goal", plain),
        ("reason", "why", plain),
    ],
    "saturation": [
        ("kind", "row", plain),
        ("step", "step", plain),
        ("rate", "rate req/s", plain),
        ("achieved_rps", "achieved req/s", plain),
        ("slo", "SLO", plain),
        ("latency_seconds", "corrected latency", seconds),
        ("latency_low_seconds", "low (95%)", seconds),
        ("latency_high_seconds", "high (95%)", seconds),
        ("lag_p99_seconds", "lag p99 end to end", seconds),
        ("valid", "valid", plain),
        ("audit_passed", "audit", plain),
        ("met", "met", plain),
        ("error", "error", plain),
        ("idle_ms_before", "idle loop ms before", milliseconds),
        ("idle_ms_after", "idle loop ms after", milliseconds),
    ],
    "resources": [
        ("process", "process", plain),
        ("cpu_seconds", "CPU s", plain),
        ("cores", "cores (mean)", cores),
        ("cpu_ms_per_request", "CPU ms / request", milliseconds),
        ("cpu_ms_per_event", "CPU ms / event", milliseconds),
        ("idle_cores", "idle cores", cores),
        ("marginal_ms_per_request", "above idle: ms / request", milliseconds),
        ("jit_seconds", "JIT compile s (wall)", plain),
    ],
    "faults": [
        ("run", "run", plain),
        ("service", "service", plain),
        ("action", "action", plain),
        ("at", "at s", seconds),
        ("recovery_seconds", "recovery s", seconds),
        ("errors", "errors by status", by_status),
    ],
}

TITLES = {
    "ceilings": "Ceilings (raw services, same run)",
    "replay": "Replay cost",
    "append": "Append throughput",
    "conflicts": "Optimistic-concurrency conflicts",
    "projection": "Projection throughput",
    "relay": "Outbox relay (publish rate vs the same-work Kafka produce)",
    "peers": "Peers",
    "serialization": "Serialization (codec choice)",
    "load": "Load",
    "lag": "Projection lag",
    "audit": "Audit",
    "targets": "Targets (verdicts from 95% intervals)",
    "saturation": "Saturation search (each step a short audited open-model run)",
    "resources": "CPU per process over the load window (/proc; requests and events in the window)",
    "faults": "Faults (recovery: until every service is healthy and every projection caught up)",
}


def _latency_columns(rows: Sequence[Mapping[str, Any]]) -> list[Column]:
    columns: list[Column] = []
    for key in LATENCY_KEYS:
        columns.append((f"latency_seconds.{key}", f"{key}", seconds))
    if any(r.get("corrected") for r in rows):
        for key in LATENCY_KEYS:
            columns.append((f"corrected.{key}", f"{key} corrected", seconds))
    return columns


def _get(row: Mapping[str, Any], dotted: str) -> Any:
    value: Any = row
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def section_table(name: str, rows: Sequence[Mapping[str, Any]]) -> Table:
    columns = list(COLUMNS[name])
    rows = marked_steps(rows) if name == "saturation" else rows
    if name == "load":
        columns += _latency_columns(rows)
    present = [
        c
        for c in columns
        if c[0] == "snapshot_every" or any(_get(r, c[0]) is not None for r in rows)
    ]
    return Table(
        TITLES[name],
        [c[1] for c in present],
        [[_cell(name, r, key, fmt) for key, _, fmt in present] for r in rows],
        recheck_lines(rows) if name == "saturation" else [],
    )


def _cell(section: str, row: Mapping[str, Any], key: str, fmt: Callable[[Any], str]) -> str:
    """A figure with its 95 % interval when the row carries one: `1,234 (1,100 to 1,300)`."""
    if section == "targets" and key in ("value", "threshold"):
        fmt = _target_number(row)
        if key == "value":
            return f"{fmt(row['value'])} ({fmt(row['low'])} to {fmt(row['high'])})"
        sign = "±" + fmt(row["tolerance"]) if row.get("op") == "within" else ""
        return f"{row.get('op', '>=')} {fmt(row['threshold'])}{sign}"
    if section == "ceilings" and key == "value" and row.get("unit") == "seconds":
        fmt = seconds
    interval = figure_interval(section, key, row) if "." not in key else None
    if interval is None or interval.low == interval.high:
        return fmt(_get(row, key))
    return f"{fmt(interval.value)} ({fmt(interval.low)} to {fmt(interval.high)})"


def _target_number(row: Mapping[str, Any]) -> Callable[[Any], str]:
    magnitude = max(abs(float(row["threshold"])), abs(float(row["value"])))
    return rate if magnitude >= 100 else (lambda x: f"{x:.3g}")


def _events(x: float) -> str:
    return f"{x:,.0f}"


def _length(x: float | None) -> str:
    return "beyond the longest full replay" if x is None else f"{x:,.0f}"


def break_even_lines(replay: Sequence[Mapping[str, Any]]) -> list[str]:
    """The rehydrate cost as a function of the tail, and where each interval starts to pay."""
    lines = []
    cost = tail_cost(replay)
    if cost is not None:
        fixed, per = cost.fixed, cost.per_event
        lines.append(
            f"With a snapshot, rehydrate ≈ {seconds(fixed.value)} ({seconds(fixed.low)} to"
            f" {seconds(fixed.high)}) + {seconds(per.value)} ({seconds(per.low)} to"
            f" {seconds(per.high)}) per event of tail (fit over {cost.rows} rows with a tail,"
            f" 95% intervals); the fixed part costs as much as replaying"
            f" {_events(cost.snapshot_in_events)} tail events."
        )
        lines.append(
            "By the fit, at the worst tail (k-1) snapshots pay from the stream length whose full"
            " replay costs as much (never below k, the first snapshot): "
            + "; ".join(
                f"every {fit.snapshot_every:,} ({seconds(cost.at(fit.snapshot_every - 1))}):"
                f" {_length(fit.events)} events ({_length(fit.low)} to {_length(fit.high)})"
                for fit in fitted_break_even(replay, cost)
            )
            + "."
        )
    for be in break_even(replay):
        if be.tail_events + 1 != be.snapshot_every and be.tail_events != 1:
            continue
        head = f"Snapshots every {be.snapshot_every:,}, tail {be.tail_events:,}"
        longest = _events(be.compared[-1][0])
        if be.events is None:
            text = f"{head}: median not faster than a full replay up to {longest} events"
        elif be.events <= be.compared[0][0]:
            text = f"{head}: median faster than a full replay at every compared length"
        else:
            text = f"{head}: medians cross at about {_events(be.events)} events"
        faster = be.faster_from
        if faster is not None:
            text += f"; faster beyond noise from {_events(faster)} events"
        if be.within_noise:
            text += "; inside the noise at " + ", ".join(_events(n) for n in be.within_noise)
        lines.append(text + ".")
    return lines


def tables(data: Mapping[str, Any]) -> list[Table]:
    """One table per section present, in contract order, with the derived notes attached."""
    out: list[Table] = []
    for name in ("targets", *(s for s in SECTIONS if s != "targets")):
        rows = data.get(name)
        if not rows:
            continue
        table = section_table(name, rows)
        if name == "replay":
            table.notes.extend(break_even_lines(rows))
        if name == "lag":
            table.notes.extend(lag_lines(rows, data.get("ceilings") or []))
        out.append(table)
    return out
