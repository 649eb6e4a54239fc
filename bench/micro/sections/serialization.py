"""The `serialization` section: encode/decode rate per codec."""

from __future__ import annotations

from bench.micro.figures import Bench, by_kind, rate
from bench.report.results import Results


def add(results: Results, benchmarks: list[Bench]) -> None:
    for b in by_kind(benchmarks, "serialization"):
        r = rate(b)
        results.add(
            "serialization",
            {
                "codec": b["extra_info"]["codec"],
                "events_per_s": r.value,
                **r.fields(),
                "seconds_per_event": 1 / r.value,
            },
        )
