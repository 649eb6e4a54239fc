"""Figures from pytest-benchmark rounds: rates, ratios and their 95 % intervals.

Every timed figure is the median over the measured rounds, with `low`/`high` its 95 % interval
(bench/report/intervals.py); a ratio to a ceiling or a peer carries `ratio_low`/`ratio_high`,
bootstrapped from the rounds of both sides. A benchmark whose rounds each ran right after a
round of its ceiling (`Runner.measure(..., ceilings=...)`) is judged by those pairs instead: the
ratio of the two sides' median rounds, its interval a bootstrap that resamples whole pairs, so
that the load other processes put on the machine, which moves between two benchmarks run
minutes apart, cancels out instead of widening the interval. Such a ratio also carries
`ratio_trend_z`, the Mann-Kendall z of its per-pair ratios (ceiling round / our round, i.e. our
rate over the ceiling's) in run order: negative when the ratio fell through the run (ours slowed
against the ceiling), positive when it rose; a drift the interval does not show.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bench.report.constants import UNIT_EVENTS_PER_S
from bench.report.intervals import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    Interval,
    median_interval,
    pair_ratios,
    rate_interval,
    rates_ratio_interval,
    trend_z,
)

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


def paired_entry(b: Bench, ceiling: Bench) -> dict[str, Any] | None:
    """The rounds of `ceiling`'s work that ran paired with `b`'s rounds, if any (`paired`: one
    `{kind, seconds[, cpu_seconds]}` per ceiling, or one alone as before 9e89033)."""
    paired = b["extra_info"].get("paired") or []
    kind = ceiling["extra_info"]["kind"]
    for entry in [paired] if isinstance(paired, dict) else paired:
        if entry["kind"] == kind:
            found: dict[str, Any] = entry
            return found
    return None


def paired_rounds(b: Bench, ceiling: Bench) -> list[float] | None:
    """The seconds of the rounds of `ceiling`'s work that ran paired with `b`'s rounds."""
    entry = paired_entry(b, ceiling)
    return None if entry is None else [float(t) for t in entry["seconds"]]


def cpu_fields(b: Bench, ceiling: Bench | None) -> dict[str, float]:
    """When the rounds were metered (`Runner.measure`'s `cpu`): the median CPU seconds per
    event of ours and of the paired ceiling (`cpu_seconds_per_event`,
    `ceiling_cpu_seconds_per_event`), and the ceiling's over ours (`cpu_ratio`)."""
    entry = None if ceiling is None else paired_entry(b, ceiling)
    ours = b["extra_info"].get("cpu_seconds")
    if not ours or entry is None or not entry.get("cpu_seconds"):
        return {}
    events = b["extra_info"]["events"]
    mine, theirs = statistics.median(ours), statistics.median(entry["cpu_seconds"])
    return {
        "cpu_seconds_per_event": mine / events,
        "ceiling_cpu_seconds_per_event": theirs / events,
        "cpu_ratio": theirs / mine,
    }


def paired_ratio_interval(seconds: Sequence[float], ceiling: Sequence[float]) -> Interval:
    """median(ceiling) / median(seconds) of rounds run in pairs (round r of each back to back),
    with a seeded percentile bootstrap that resamples whole pairs."""
    pairs = list(zip(seconds, ceiling, strict=True))
    value = statistics.median(ceiling) / statistics.median(seconds)
    rng = random.Random(BOOTSTRAP_SEED)
    ratios = sorted(
        statistics.median(c for _, c in drawn) / statistics.median(t for t, _ in drawn)
        for drawn in (rng.choices(pairs, k=len(pairs)) for _ in range(BOOTSTRAP_RESAMPLES))
    )
    tail = (1 - CONFIDENCE) / 2
    low = ratios[int(tail * BOOTSTRAP_RESAMPLES)]
    high = ratios[min(BOOTSTRAP_RESAMPLES - 1, int((1 - tail) * BOOTSTRAP_RESAMPLES))]
    return Interval(value, min(low, value), max(high, value))


def paired_trend_z(seconds: Sequence[float], ceiling: Sequence[float]) -> float:
    """The trend z of the per-pair ratios ceiling / ours (our rate over the ceiling's) in run
    order: negative when the ratio fell through the run."""
    return trend_z(pair_ratios(ceiling, seconds))


def ratio(b: Bench, ceiling: Bench | None) -> Interval | None:
    """Rate of `b` over the rate of `ceiling`, from the paired rounds when `b` ran paired with
    `ceiling`'s work, else from both benchmarks' rounds; bootstrap intervals either way."""
    if ceiling is None:
        return None
    units, ceiling_units = b["extra_info"]["events"], ceiling["extra_info"]["events"]
    paired = paired_rounds(b, ceiling)
    if paired is None:
        return rates_ratio_interval(units, rounds(b), ceiling_units, rounds(ceiling))
    return paired_ratio_interval(rounds(b), paired).scaled(units / ceiling_units)


def rate_fields(b: Bench, key: str = "events_per_s") -> dict[str, float]:
    """`{key: rate, "low": …, "high": …}`."""
    r = rate(b)
    return {key: r.value, **r.fields()}


def ratio_fields(b: Bench, ceiling: Bench | None) -> dict[str, Any]:
    """`ceiling`, `ratio`, `ratio_low`, `ratio_high` (None when there is no ceiling); `ceiling`
    is the rate of the paired rounds when the ratio comes from them, and then `ratio_trend_z`
    is the trend of the pairs (`paired_trend_z`)."""
    r = ratio(b, ceiling)
    if r is None or ceiling is None:
        return {"ceiling": None, "ratio": None}
    paired = paired_rounds(b, ceiling)
    c = rate(ceiling) if paired is None else rate_interval(ceiling["extra_info"]["events"], paired)
    fields: dict[str, Any] = {
        "ceiling": c.value,
        "ratio": r.value,
        "ratio_low": r.low,
        "ratio_high": r.high,
    }
    if paired is not None:
        fields["ratio_trend_z"] = paired_trend_z(rounds(b), paired)
    return fields


def by_kind(benchmarks: Iterable[Bench], kind: str) -> list[Bench]:
    """The benchmarks tagged `kind` in their extra_info."""
    return [b for b in benchmarks if b["extra_info"].get("kind") == kind]


def ceiling_row(name: str, b: Bench, work: str, unit: str = UNIT_EVENTS_PER_S) -> dict[str, Any]:
    """A `ceilings` row: the rate, its interval, and what work it does."""
    r = rate(b)
    return {"name": name, "unit": unit, "value": r.value, **r.fields(), "work": work}
