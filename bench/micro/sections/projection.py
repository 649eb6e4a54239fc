"""The `projection` section and the raw Elasticsearch bulk ceilings."""

from __future__ import annotations

from bench.micro.figures import Bench, by_kind, ceiling_row, rate_fields, ratio_fields, seconds
from bench.report.results import Results


def add(results: Results, benchmarks: list[Bench]) -> None:
    raw = {b["extra_info"]["name"]: b for b in by_kind(benchmarks, "projection_raw")}
    for name, b in raw.items():
        work = f"raw bulk index of the {name} documents the projector writes"
        results.add("ceilings", ceiling_row(f"elasticsearch_bulk_{name}", b, work))
    for b in by_kind(benchmarks, "projection_rebuild"):
        results.add(
            "projection",
            {
                "name": b["extra_info"]["name"],
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
                "events": info["events"],
                "seconds": seconds(b).value,
                **rate_fields(b),
                **ratio_fields(b, raw.get(info["name"])),
            },
        )
