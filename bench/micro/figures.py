"""Figures from pytest-benchmark rounds: rates, ratios and their 95 % intervals.

Every timed figure is the median over the measured rounds, with `low`/`high` its 95 % interval
(bench/report/intervals.py); a ratio to a ceiling or a peer carries `ratio_low`/`ratio_high`,
bootstrapped from the rounds of both sides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bench.report.constants import UNIT_EVENTS_PER_S
from bench.report.intervals import Interval, median_interval, rate_interval, rates_ratio_interval

Bench = Mapping[str, Any]


def rounds(b: Bench) -> list[float]:
    """The seconds of each measured round."""
    return [float(t) for t in b["stats"]["data"]]


def seconds(b: Bench) -> Interval:
    """Median round time and its interval."""
    return median_interval(rounds(b))


def rate(b: Bench) -> Interval:
    """Events/s of a benchmark that handles `events` per round, with its interval."""
    return rate_interval(b["extra_info"]["events"], rounds(b))


def ratio(b: Bench, ceiling: Bench | None) -> Interval | None:
    """Rate of `b` over the rate of `ceiling`, with a bootstrap interval from both rounds."""
    if ceiling is None:
        return None
    return rates_ratio_interval(
        b["extra_info"]["events"], rounds(b), ceiling["extra_info"]["events"], rounds(ceiling)
    )


def rate_fields(b: Bench, key: str = "events_per_s") -> dict[str, float]:
    """`{key: rate, "low": …, "high": …}`."""
    r = rate(b)
    return {key: r.value, **r.fields()}


def ratio_fields(b: Bench, ceiling: Bench | None) -> dict[str, Any]:
    """`ceiling`, `ratio`, `ratio_low`, `ratio_high` (None when there is no ceiling)."""
    r = ratio(b, ceiling)
    if r is None or ceiling is None:
        return {"ceiling": None, "ratio": None}
    return {
        "ceiling": rate(ceiling).value,
        "ratio": r.value,
        "ratio_low": r.low,
        "ratio_high": r.high,
    }


def by_kind(benchmarks: Iterable[Bench], kind: str) -> list[Bench]:
    """The benchmarks tagged `kind` in their extra_info."""
    return [b for b in benchmarks if b["extra_info"].get("kind") == kind]


def ceiling_row(name: str, b: Bench, work: str, unit: str = UNIT_EVENTS_PER_S) -> dict[str, Any]:
    """A `ceilings` row: the rate, its interval, and what work it does."""
    r = rate(b)
    return {"name": name, "unit": unit, "value": r.value, **r.fields(), "work": work}
