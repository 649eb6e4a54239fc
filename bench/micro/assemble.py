"""pytest-benchmark's JSON → results.json sections: figures, their ceilings and ratios.

Every timed figure is the median over the measured rounds, with `low`/`high` its 95 % interval
(bench/report/intervals.py); a ratio to a ceiling or a peer carries `ratio_low`/`ratio_high`,
bootstrapped from the rounds of both sides. Each section's rows are built in
`bench/micro/sections/<section>.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.micro.figures import Bench
from bench.micro.sections import (
    append,
    conflicts,
    kafka,
    peers,
    projection,
    relay,
    replay,
    serialization,
)
from bench.report.results import Results
from bench.report.targets import TargetSpec, evaluate


def add_sections(results: Results, benchmarks: list[Bench]) -> None:
    """Fill `results` from the benchmarks of one micro run."""
    for section in (replay, append, conflicts, projection, relay, serialization, kafka, peers):
        section.add(results, benchmarks)


def add_targets(results: Results, specs: Sequence[TargetSpec]) -> None:
    """Judge the run against its suite's targets; a target without figures becomes a note."""
    rows, notes = evaluate(specs, results.sections)
    for row in rows:
        results.add("targets", row)
    results.notes.extend(notes)
