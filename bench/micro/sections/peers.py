"""The `peers` section: ours against eventsourcing and message-db on the same PostgreSQL.

One row per comparison: appends at our connection count (`concurrency` = that count) and at each
side's own best (`concurrency` = "best", with `ours_sweep`/`theirs_sweep` showing the rates the
best was picked from), replays at 1. `ours` and `theirs` are each side's median rate with its
interval (`ours_low`/`ours_high`, `theirs_low`/`theirs_high`). The sides ran in alternating
rounds, so `ratio` is the median over round pairs of ours / theirs (round r of each ran back to
back, on the same state of the machine), its `low`/`high` a bootstrap over the pairs. It is not
the quotient of the two medians, which would set a round from a quiet minute against one from a
busy minute: the drift the alternation cancels would come back. `ratio_trend_z` is the
Mann-Kendall z of those per-pair ratios in run order (negative: ours / theirs fell through the
run), a drift within the run that the interval does not show. Append rows say which plans our
statement ran on (`ours_plans`: `generic`, or `custom`/`mixed` when PostgreSQL re-planned
appends, which made ours about twice as slow and once swung the message-db ratio from 2.0 to
1.2; see `STORE_SERVER_SETTINGS`). An interval covers the noise within one run only: ratios
of runs at one revision spread about 1.8-3.5 on the shared 2-core dev box.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from bench.micro.figures import Bench, by_kind, paired_trend_z
from bench.report.intervals import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    Interval,
    pair_ratios,
    rate_interval,
)
from bench.report.results import Results

PEERS = ("eventsourcing", "message-db")
WORKLOADS = ("append", "replay", "replay_snapshots")


def paired_ratio_interval(ours: Sequence[float], theirs: Sequence[float]) -> Interval:
    """Our rate over theirs as the median over round pairs (round r of ours against round r of
    theirs, the same work per round on both sides), with a percentile bootstrap over the pairs."""
    if not ours or len(ours) != len(theirs):
        raise ValueError("a paired ratio needs as many rounds of ours as of theirs")
    pairs = pair_ratios(theirs, ours)
    value = statistics.median(pairs)
    rng = random.Random(BOOTSTRAP_SEED)
    medians = sorted(
        statistics.median(rng.choices(pairs, k=len(pairs))) for _ in range(BOOTSTRAP_RESAMPLES)
    )
    tail = (1 - CONFIDENCE) / 2
    low = medians[int(tail * BOOTSTRAP_RESAMPLES)]
    high = medians[min(BOOTSTRAP_RESAMPLES - 1, int((1 - tail) * BOOTSTRAP_RESAMPLES))]
    return Interval(value, min(low, value), max(high, value))


def _side(prefix: str, units: float, seconds: Sequence[float]) -> dict[str, float]:
    r = rate_interval(units, seconds)
    return {prefix: r.value, f"{prefix}_low": r.low, f"{prefix}_high": r.high}


def _sweep(units: float, levels: Sequence[Mapping[str, Any]]) -> list[dict[str, float]]:
    return [
        {"concurrency": level["concurrency"], **_side("rate", units, level["seconds"])}
        for level in levels
    ]


def rows(b: Bench) -> list[dict[str, Any]]:
    """The rows of one peer comparison (a `peer_pair` benchmark)."""
    info = b["extra_info"]
    units = info["events"]
    out = []
    for m in info["matchups"]:
        r = paired_ratio_interval(m["ours_seconds"], m["theirs_seconds"])
        row: dict[str, Any] = {
            "peer": info["peer"],
            "workload": info["workload"],
            "unit": info["unit"],
            "concurrency": m["concurrency"],
            "ours_concurrency": m["ours_concurrency"],
            "theirs_concurrency": m["theirs_concurrency"],
            **_side("ours", units, m["ours_seconds"]),
            **_side("theirs", units, m["theirs_seconds"]),
            "ratio": r.value,
            "low": r.low,
            "high": r.high,
            "ratio_trend_z": paired_trend_z(m["ours_seconds"], m["theirs_seconds"]),
            "rounds": len(m["ours_seconds"]),
        }
        plans = info.get("ours_plans", {}).get(str(m["ours_concurrency"]))
        if plans is not None:
            row["ours_plans"] = plans["mode"]
        if m["concurrency"] == "best" and "sweep" in info:
            row["ours_sweep"] = _sweep(info["sweep_events"], info["sweep"]["ours"])
            row["theirs_sweep"] = _sweep(info["sweep_events"], info["sweep"]["theirs"])
        out.append(row)
    return out


def _order(b: Bench) -> tuple[int, int]:
    info = b["extra_info"]
    return PEERS.index(info["peer"]), WORKLOADS.index(info["workload"])


def add(results: Results, benchmarks: list[Bench]) -> None:
    for b in sorted(by_kind(benchmarks, "peer_pair"), key=_order):
        for row in rows(b):
            results.add("peers", row)
