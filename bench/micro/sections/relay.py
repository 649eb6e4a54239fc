"""The `relay` section: the outbox relay's publish rate over the same-work produce ceiling."""

from __future__ import annotations

from bench.micro.figures import Bench, by_kind, rate_fields, ratio_fields, seconds
from bench.report.results import Results


def add(results: Results, benchmarks: list[Bench]) -> None:
    ceilings = by_kind(benchmarks, "kafka_produce")
    ceiling = ceilings[0] if ceilings else None
    for b in by_kind(benchmarks, "relay"):
        info = b["extra_info"]
        results.add(
            "relay",
            {
                "name": info["name"],
                "events": info["events"],
                "message_bytes": info.get("message_bytes"),
                "seconds": seconds(b).value,
                **rate_fields(b),
                **ratio_fields(b, ceiling),
            },
        )
