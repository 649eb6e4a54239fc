"""The `conflicts` section: measured conflict rates beside the model's prediction."""

from __future__ import annotations

from bench.micro.figures import Bench, by_kind
from bench.report.results import Results

FIELDS = (
    "writers",
    "aggregates",
    "skew",
    "retry",
    "attempts",
    "conflicts",
    "conflict_rate",
    "predicted_conflict_rate",
    "committed_per_s",
    "p99_seconds",
)


def add(results: Results, benchmarks: list[Bench]) -> None:
    rows = sorted(
        by_kind(benchmarks, "conflicts"),
        key=lambda b: (
            b["extra_info"]["skew"],
            b["extra_info"]["retry"],
            b["extra_info"]["writers"],
        ),
    )
    for b in rows:
        results.add("conflicts", {k: b["extra_info"][k] for k in FIELDS})
