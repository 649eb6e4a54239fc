"""The `append` section and the raw-INSERT ceilings it is measured against."""

from __future__ import annotations

from bench.micro.figures import Bench, by_kind, ceiling_row, rate_fields, ratio_fields
from bench.report.results import Results


def add(results: Results, benchmarks: list[Bench]) -> None:
    raw: dict[tuple[int, int], Bench] = {}
    for b in by_kind(benchmarks, "append_raw"):
        info = b["extra_info"]
        c, n = info["connections"], info["batch"]
        raw[(c, n)] = b
        work = f"raw INSERT of the same rows into events, {c} connections, {n} per statement"
        results.add("ceilings", ceiling_row(f"postgres_insert_c{c}_b{n}", b, work))
    rows = sorted(
        by_kind(benchmarks, "append"),
        key=lambda b: tuple(b["extra_info"][k] for k in ("connections", "batch", "snapshots")),
    )
    for b in rows:
        info = b["extra_info"]
        results.add(
            "append",
            {
                "connections": info["connections"],
                "batch": info["batch"],
                "snapshots": info["snapshots"],
                **rate_fields(b),
                "p99_seconds": info["p99_seconds"],
                **ratio_fields(b, raw.get((info["connections"], info["batch"]))),
            },
        )
