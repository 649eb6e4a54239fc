"""The `replay` section and the raw-fetch ceilings it is measured against."""

from __future__ import annotations

from typing import Any

from bench.micro.figures import Bench, by_kind, ceiling_row, rate_fields, ratio_fields, seconds
from bench.report.results import Results


def add(results: Results, benchmarks: list[Bench]) -> None:
    fetch = {b["extra_info"]["events"]: b for b in by_kind(benchmarks, "replay_fetch")}
    fold = {b["extra_info"]["events"]: b for b in by_kind(benchmarks, "replay_decode_fold")}
    for n, b in sorted(fetch.items()):
        work = f"asyncpg fetch of the {n} rows of one stream (event_type, data), one connection"
        results.add("ceilings", ceiling_row(f"postgres_fetch_{n}_events", b, work))
    rows = sorted(
        by_kind(benchmarks, "replay"),
        key=lambda b: (b["extra_info"]["events"], b["extra_info"]["snapshot_every"] or 0),
    )
    for b in rows:
        info = b["extra_info"]
        n, every = info["events"], info["snapshot_every"]
        row: dict[str, Any] = {
            "events": n,
            "snapshot_every": every,
            "seconds": seconds(b).value,
            **rate_fields(b),
            **ratio_fields(b, fetch.get(n)),
        }
        if every is None and n in fetch and n in fold:
            row["fetch_seconds"] = seconds(fetch[n]).value
            row["decode_fold_seconds"] = seconds(fold[n]).value
        results.add("replay", row)
