"""The `projection` section (one row per path) and its raw Elasticsearch bulk ceilings.

Each raw bulk benchmark names the paths it bounds (`paths`): the bulk of the batches' documents
bounds `cached` and `uncached_mget`, the bulk of what a projector pass over Kafka wrote bounds
`from_kafka`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.micro.figures import Bench, by_kind, ceiling_row, rate_fields, ratio_fields, seconds
from bench.report.results import Results


def bulk_work(name: str, info: Mapping[str, Any]) -> str:
    """What a raw bulk ceiling does, from what the benchmark recorded."""
    source = (
        "a projector pass over Kafka wrote"
        if info.get("source") == "from_kafka"
        else "the projector writes from batches of the events"
    )
    return (
        f"raw bulk index (no reads, no versions) of the {info['docs']} {name} documents"
        f" {source} for {info['events']} events, in the same {info['bulks']} bulks,"
        " the projector's refresh after each"
    )


def ceiling_name(name: str, info: Mapping[str, Any]) -> str:
    suffix = "_from_kafka" if info.get("source") == "from_kafka" else ""
    return f"elasticsearch_bulk_{name}{suffix}"


def add(results: Results, benchmarks: list[Bench]) -> None:
    ceilings: dict[tuple[str, str], Bench] = {}
    for b in by_kind(benchmarks, "projection_raw"):
        info = b["extra_info"]
        results.add(
            "ceilings",
            ceiling_row(ceiling_name(info["name"], info), b, bulk_work(info["name"], info)),
        )
        for path in info.get("paths", ["cached"]):
            ceilings[(info["name"], path)] = b
    for b in by_kind(benchmarks, "projection_rebuild"):
        info = b["extra_info"]
        results.add(
            "projection",
            {
                "name": info["name"],
                "path": info.get("path", "rebuild"),
                "events": info["events"],
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
                "docs": info.get("docs"),
                "seconds": seconds(b).value,
                **rate_fields(b),
                **ratio_fields(b, ceilings.get((info["name"], info["path"]))),
            },
        )
