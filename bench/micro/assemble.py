"""pytest-benchmark's JSON → results.json sections: figures, their ceilings and ratios.

Every timed figure is the median over the measured rounds; its `spread` is the interquartile
range of the rounds converted to the figure's unit (what `compare` uses to judge noise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bench.report.results import Results

Bench = Mapping[str, Any]


def _median(b: Bench) -> float:
    return float(b["stats"]["median"])


def _rate(b: Bench) -> tuple[float, float]:
    """(events/s at the median, IQR in events/s) of a benchmark that handles `events` per round."""
    events, median = b["extra_info"]["events"], _median(b)
    return events / median, events * float(b["stats"]["iqr"]) / median**2


def _by_kind(benchmarks: Iterable[Bench], kind: str) -> list[Bench]:
    return [b for b in benchmarks if b["extra_info"].get("kind") == kind]


def _ratio(value: float, ceiling: float | None) -> float | None:
    return None if not ceiling else value / ceiling


def add_sections(results: Results, benchmarks: list[Bench]) -> None:
    """Fill `results` from the benchmarks of one micro run."""
    _replay(results, benchmarks)
    _append(results, benchmarks)
    _conflicts(results, benchmarks)
    _projection(results, benchmarks)
    _serialization(results, benchmarks)
    _kafka(results, benchmarks)
    _peers(results, benchmarks)


def _replay(results: Results, benchmarks: list[Bench]) -> None:
    fetch = {b["extra_info"]["events"]: b for b in _by_kind(benchmarks, "replay_fetch")}
    fold = {b["extra_info"]["events"]: b for b in _by_kind(benchmarks, "replay_decode_fold")}
    for n, b in sorted(fetch.items()):
        rate, spread = _rate(b)
        results.add(
            "ceilings",
            {
                "name": f"postgres_fetch_{n}_events",
                "unit": "events/s",
                "value": rate,
                "spread": spread,
            },
        )
    rows = sorted(
        _by_kind(benchmarks, "replay"),
        key=lambda b: (b["extra_info"]["events"], b["extra_info"]["snapshot_every"] or 0),
    )
    for b in rows:
        info = b["extra_info"]
        n, every = info["events"], info["snapshot_every"]
        rate, spread = _rate(b)
        ceiling = _rate(fetch[n])[0] if n in fetch else None
        row: dict[str, Any] = {
            "events": n,
            "snapshot_every": every,
            "seconds": _median(b),
            "events_per_s": rate,
            "ceiling": ceiling,
            "ratio": _ratio(rate, ceiling),
            "spread": spread,
        }
        if every is None and n in fetch and n in fold:
            row["fetch_seconds"] = _median(fetch[n])
            row["decode_fold_seconds"] = _median(fold[n])
        results.add("replay", row)


def _append(results: Results, benchmarks: list[Bench]) -> None:
    raw = {}
    for b in _by_kind(benchmarks, "append_raw"):
        info = b["extra_info"]
        raw[(info["connections"], info["batch"])] = _rate(b)[0]
        results.add(
            "ceilings",
            {
                "name": f"postgres_insert_c{info['connections']}_b{info['batch']}",
                "unit": "events/s",
                "value": _rate(b)[0],
                "spread": _rate(b)[1],
            },
        )
    rows = sorted(
        _by_kind(benchmarks, "append"),
        key=lambda b: tuple(b["extra_info"][k] for k in ("connections", "batch", "snapshots")),
    )
    for b in rows:
        info = b["extra_info"]
        rate, spread = _rate(b)
        ceiling = raw.get((info["connections"], info["batch"]))
        results.add(
            "append",
            {
                "connections": info["connections"],
                "batch": info["batch"],
                "snapshots": info["snapshots"],
                "events_per_s": rate,
                "p99_seconds": info["p99_seconds"],
                "ceiling": ceiling,
                "ratio": _ratio(rate, ceiling),
                "spread": spread,
            },
        )


CONFLICT_FIELDS = (
    "writers",
    "aggregates",
    "skew",
    "retry",
    "attempts",
    "conflicts",
    "conflict_rate",
    "predicted_conflict_rate",
    "committed_per_s",
    "p99_seconds",
)


def _conflicts(results: Results, benchmarks: list[Bench]) -> None:
    rows = sorted(
        _by_kind(benchmarks, "conflicts"),
        key=lambda b: (
            b["extra_info"]["skew"],
            b["extra_info"]["retry"],
            b["extra_info"]["writers"],
        ),
    )
    for b in rows:
        results.add("conflicts", {k: b["extra_info"][k] for k in CONFLICT_FIELDS})


def _projection(results: Results, benchmarks: list[Bench]) -> None:
    raw = {b["extra_info"]["name"]: b for b in _by_kind(benchmarks, "projection_raw")}
    for name, b in raw.items():
        rate, spread = _rate(b)
        results.add(
            "ceilings",
            {
                "name": f"elasticsearch_bulk_{name}",
                "unit": "events/s",
                "value": rate,
                "spread": spread,
            },
        )
    for b in _by_kind(benchmarks, "projection_rebuild"):
        rate, spread = _rate(b)
        results.add(
            "projection",
            {
                "name": b["extra_info"]["name"],
                "events": b["extra_info"]["events"],
                "seconds": _median(b),
                "events_per_s": rate,
                "ceiling": None,
                "ratio": None,
                "spread": spread,
            },
        )
    for b in _by_kind(benchmarks, "projection"):
        info = b["extra_info"]
        rate, spread = _rate(b)
        ceiling = _rate(raw[info["name"]])[0] if info["name"] in raw else None
        results.add(
            "projection",
            {
                "name": info["name"],
                "events": info["events"],
                "seconds": _median(b),
                "events_per_s": rate,
                "ceiling": ceiling,
                "ratio": _ratio(rate, ceiling),
                "spread": spread,
            },
        )


def _serialization(results: Results, benchmarks: list[Bench]) -> None:
    for b in _by_kind(benchmarks, "serialization"):
        rate, spread = _rate(b)
        results.add(
            "serialization",
            {
                "codec": b["extra_info"]["codec"],
                "events_per_s": rate,
                "seconds_per_event": 1 / rate,
                "spread": spread,
            },
        )


def _kafka(results: Results, benchmarks: list[Bench]) -> None:
    for kind in ("kafka_produce", "kafka_consume"):
        for b in _by_kind(benchmarks, kind):
            rate, spread = _rate(b)
            results.add(
                "ceilings", {"name": kind, "unit": "events/s", "value": rate, "spread": spread}
            )


PEER_WORKLOADS = (
    # (peer, workload in the report, workload measured, unit)
    ("eventsourcing", "append", "append_commands", "commands/s"),
    ("eventsourcing", "replay", "replay", "events/s"),
    ("eventsourcing", "replay_snapshots", "replay_snapshots", "events/s"),
    ("message-db", "append", "append_events", "events/s"),
    ("message-db", "replay", "replay", "events/s"),
)


def _peers(results: Results, benchmarks: list[Bench]) -> None:
    measured = {
        (b["extra_info"]["side"], b["extra_info"]["workload"]): _rate(b)[0]
        for b in _by_kind(benchmarks, "peer")
    }
    for peer, workload, key, unit in PEER_WORKLOADS:
        ours, theirs = measured.get(("ours", key)), measured.get((peer, key))
        if ours is None or theirs is None:
            continue
        results.add(
            "peers",
            {
                "peer": peer,
                "workload": workload,
                "unit": unit,
                "ours": ours,
                "theirs": theirs,
                "ratio": ours / theirs,
            },
        )
