"""The `projection` section (one row per path), its raw Elasticsearch bulk ceilings and the raw
Kafka consume ceiling of the projector reading Kafka.

Each raw bulk benchmark names the paths it bounds (`paths`): the bulk of the batches' documents
bounds `cached` and `uncached_mget`, the bulk of what a projector pass over Kafka wrote bounds
`from_kafka`. The raw consume of the topic (`projection_consume`, ceilings row
`kafka_consume_<name>`) bounds `from_kafka` too: its row's `kafka_*` fields (`kafka_fields`).
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


def consume_work(name: str, info: Mapping[str, Any]) -> str:
    """What the raw consume ceiling does, from what the benchmark recorded."""
    return (
        f"raw aiokafka consume (no decoding, no projecting) of the {info['messages']} messages"
        f" the {name} projector reads for {info['events']} events (relay envelopes, then a"
        " watermark per partition), off the same topic with the projector's consumer (a fresh"
        f" group, assigned partitions, up to {info['batch']} records per getmany)"
    )


def kafka_fields(b: Bench, consume: Bench | None) -> dict[str, Any]:
    """`kafka_ceiling` (events/s of the raw consume), `kafka_ratio`, `kafka_ratio_low`,
    `kafka_ratio_high`: `ratio_fields` against the consume; none without one."""
    if consume is None:
        return {}
    return {f"kafka_{key}": value for key, value in ratio_fields(b, consume).items()}


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
    consumes: dict[tuple[str, str], Bench] = {}
    for b in by_kind(benchmarks, "projection_consume"):
        info = b["extra_info"]
        name = info["name"]
        results.add("ceilings", ceiling_row(f"kafka_consume_{name}", b, consume_work(name, info)))
        consumes.update({(name, path): b for path in info["paths"]})
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
                **kafka_fields(b, consumes.get((info["name"], info["path"]))),
            },
        )
