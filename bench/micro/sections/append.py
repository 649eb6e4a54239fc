"""The `append` section and the raw INSERT and COPY ceilings it is measured against.

Each row's `ratio` is over the same-run raw INSERT of as many rows per statement; batches of
several events also carry `copy_ratio` (with `copy_ratio_low`/`copy_ratio_high`) over the
same-run binary COPY of those rows, the faster way PostgreSQL takes a batch; both ceilings' rounds
ran paired with ours (`bench/micro/test_append.py`), and the `postgres_copy_*` ceiling rows are
COPY's own benchmark, for reference. Rounds metered for CPU (PostgreSQL on this machine) give
each row the CPU per event of ours and of the raw INSERT, and the latter over the former.
"""

from __future__ import annotations

from bench.micro.figures import (
    Bench,
    by_kind,
    ceiling_row,
    cpu_fields,
    rate_fields,
    ratio_fields,
)
from bench.report.results import Results


def add(results: Results, benchmarks: list[Bench]) -> None:
    raw: dict[tuple[int, int], Bench] = {}
    for b in by_kind(benchmarks, "append_raw"):
        info = b["extra_info"]
        c, n = info["connections"], info["batch"]
        raw[(c, n)] = b
        work = f"raw INSERT of the same rows into events, {c} connections, {n} per statement"
        results.add("ceilings", ceiling_row(f"postgres_insert_c{c}_b{n}", b, work))
    copy: dict[tuple[int, int], Bench] = {}
    for b in by_kind(benchmarks, "append_copy"):
        info = b["extra_info"]
        c, n = info["connections"], info["batch"]
        copy[(c, n)] = b
        work = f"binary COPY of the same rows into events, {c} connections, {n} per COPY"
        results.add("ceilings", ceiling_row(f"postgres_copy_c{c}_b{n}", b, work))
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
                **cpu_fields(b, raw.get((info["connections"], info["batch"]))),
                **copy_fields(b, copy.get((info["connections"], info["batch"]))),
            },
        )


def copy_fields(b: Bench, ceiling: Bench | None) -> dict[str, float]:
    """`copy_ceiling`, `copy_ratio` and its interval, when the batch has a COPY ceiling, and
    `copy_ratio_trend_z` when the ratio came from paired rounds."""
    if ceiling is None:
        return {}
    fields = ratio_fields(b, ceiling)
    copied = {
        "copy_ceiling": fields["ceiling"],
        "copy_ratio": fields["ratio"],
        "copy_ratio_low": fields["ratio_low"],
        "copy_ratio_high": fields["ratio_high"],
    }
    if "ratio_trend_z" in fields:
        copied["copy_ratio_trend_z"] = fields["ratio_trend_z"]
    return copied
