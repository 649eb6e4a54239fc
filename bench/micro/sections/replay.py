"""The `replay` section and the raw-fetch ceilings it is measured against.

A row's `tail_events` is what the store returned after the snapshot, counted during the
benchmark (all of the stream's events with snapshots off). Its ceiling is the raw asyncpg fetch
of the same rows: the whole stream with snapshots off, the snapshot row and the tail with them.
`plan` and `ceiling_plan` say how each side's statement read the stream (`bench/micro/plans.py`):
a ratio compares like with like only when both read it alike.
"""

from __future__ import annotations

from typing import Any

from bench.micro.figures import Bench, by_kind, ceiling_row, rate_fields, ratio_fields, seconds
from bench.report.results import Results


def _order(b: Bench) -> tuple[bool, int, int]:
    info = b["extra_info"]
    every = info["snapshot_every"]
    return every is not None, every or 0, info["events"]


def add(results: Results, benchmarks: list[Bench]) -> None:
    fetch = {b["extra_info"]["events"]: b for b in by_kind(benchmarks, "replay_fetch")}
    fetch_tail = {
        (b["extra_info"]["events"], b["extra_info"]["tail_events"]): b
        for b in by_kind(benchmarks, "replay_fetch_tail")
    }
    fold = {b["extra_info"]["events"]: b for b in by_kind(benchmarks, "replay_decode_fold")}
    for n, b in sorted(fetch.items()):
        if b["extra_info"].get("base", n) != n:
            continue
        work = f"asyncpg fetch of the {n} rows of one stream (event_type, data), one connection"
        results.add("ceilings", ceiling_row(f"postgres_fetch_{n}_events", b, work))
    for b in sorted(by_kind(benchmarks, "replay"), key=_order):
        info = b["extra_info"]
        n, every, tail = info["events"], info["snapshot_every"], info["tail_events"]
        ceiling = fetch.get(n) if every is None else fetch_tail.get((n, tail))
        t = seconds(b)
        row: dict[str, Any] = {
            "events": n,
            "snapshot_every": every,
            "tail_events": tail,
            "seconds": t.value,
            "seconds_low": t.low,
            "seconds_high": t.high,
            **rate_fields(b),
            **ratio_fields(b, ceiling),
        }
        for key in ("plan", "ceiling_plan"):
            if key in info:
                row[key] = info[key]
        if every is None and n in fetch and n in fold:
            row["fetch_seconds"] = seconds(fetch[n]).value
            row["decode_fold_seconds"] = seconds(fold[n]).value
        results.add("replay", row)
