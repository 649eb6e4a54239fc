"""The `projection` section (one row per path) and the raw Elasticsearch bulk ceiling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.micro.figures import Bench, by_kind, ceiling_row, rate_fields, ratio_fields, seconds
from bench.report.results import Results


def bulk_work(name: str, info: Mapping[str, Any]) -> str:
    """What the raw bulk ceiling does, from what the benchmark recorded."""
    return (
        f"raw bulk index (no reads, no versions) of the {info['docs']} {name} documents the"
        f" projector writes for {info['events']} events, {info['batch']} events per bulk,"
        " the projector's refresh after each"
    )


def add(results: Results, benchmarks: list[Bench]) -> None:
    raw = {b["extra_info"]["name"]: b for b in by_kind(benchmarks, "projection_raw")}
    for name, b in raw.items():
        results.add(
            "ceilings",
            ceiling_row(f"elasticsearch_bulk_{name}", b, bulk_work(name, b["extra_info"])),
        )
    for b in by_kind(benchmarks, "projection_rebuild"):
        results.add(
            "projection",
            {
                "name": b["extra_info"]["name"],
                "path": b["extra_info"].get("path", "rebuild"),
                "events": b["extra_info"]["events"],
                "seconds": seconds(b).value,
                **rate_fields(b),
                "ceiling": None,
                "ratio": None,
            },
        )
    for b in by_kind(benchmarks, "projection"):
        info = b["extra_info"]
        results.add(
            "projection",
            {
                "name": info["name"],
                "path": info["path"],
                "events": info["events"],
                "seconds": seconds(b).value,
                **rate_fields(b),
                **ratio_fields(b, raw.get(info["name"])),
            },
        )
