"""The `conflicts` section: measured conflict rates beside the model's prediction, with intervals.

From each case's rounds (bench/micro/test_conflicts.py): the conflict rate over all attempts with
its Wilson interval; the read → append window (median and p90 of each round, their medians and
order-statistic intervals over the rounds); the window ratio r = mean window * attempt rate /
writers per round, whose interval over the rounds is mapped through the model (which rises with
r) into `predicted_conflict_rate_low/high`; and `model_ratio` = measured / predicted with the
corner interval of both. A case is `model_judged` when the model expects at least
`MIN_EXPECTED_CONFLICTS` conflicts: fewer make the ratio's interval too wide to judge (Wilson
±20 % at 100), so the suites' model target applies only to judged rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.micro.conflict_model import key_probabilities, predicted_conflict_rate, window_ratio
from bench.micro.figures import Bench, by_kind
from bench.report.intervals import Interval, median_interval, proportion_interval, quotient
from bench.report.results import Results

MIN_EXPECTED_CONFLICTS = 100
"""Conflicts the model must expect in a case before its ratio to the measurement is judged."""


def _fields(name: str, interval: Interval) -> dict[str, float]:
    return {name: interval.value, f"{name}_low": interval.low, f"{name}_high": interval.high}


def _per_round(info: Mapping[str, Any], key: str) -> list[float]:
    return [float(x) for x in info[key]]


def window_ratios(info: Mapping[str, Any]) -> list[float]:
    """The window ratio r of each round."""
    return [
        window_ratio(mean, int(attempts), seconds, int(info["writers"]))
        for mean, attempts, seconds in zip(
            _per_round(info, "round_window_mean"),
            info["round_attempts"],
            _per_round(info, "round_seconds"),
            strict=True,
        )
    ]


def predicted_interval(info: Mapping[str, Any]) -> Interval:
    """The model's prediction from the window ratio of each round, with its interval."""
    writers = int(info["writers"])
    r = median_interval(window_ratios(info))
    probabilities = key_probabilities(str(info["skew"]), int(info["aggregates"]))
    tries = int(info["retry_attempts"])
    low, value, high = (
        predicted_conflict_rate(writers, probabilities, x, tries) for x in (r.low, r.value, r.high)
    )
    return Interval(value, min(low, value), max(high, value), r.confidence)


def row(b: Bench) -> dict[str, Any]:
    """One `conflicts` row from a case's rounds."""
    info = b["extra_info"]
    attempts, conflicts = sum(info["round_attempts"]), sum(info["round_conflicts"])
    seconds = _per_round(info, "round_seconds")
    writers = int(info["writers"])
    measured = proportion_interval(conflicts, attempts)
    predicted = predicted_interval(info)
    ratio = quotient(measured, predicted) if predicted.low > 0 else None
    return {
        "writers": writers,
        "aggregates": info["aggregates"],
        "skew": info["skew"],
        "retry": info["retry"],
        "rounds": len(seconds),
        "attempts": attempts,
        "conflicts": conflicts,
        **_fields("conflict_rate", measured),
        **_fields("predicted_conflict_rate", predicted),
        "model_ratio": None if ratio is None else ratio.value,
        **({} if ratio is None else {"model_ratio_low": ratio.low, "model_ratio_high": ratio.high}),
        "model_judged": predicted.value * attempts >= MIN_EXPECTED_CONFLICTS,
        **_fields("window_seconds", median_interval(_per_round(info, "round_window_p50"))),
        **_fields("window_p90_seconds", median_interval(_per_round(info, "round_window_p90"))),
        **_fields("window_ratio", median_interval(window_ratios(info))),
        **_fields(
            "attempts_per_s",
            median_interval([a / s for a, s in zip(info["round_attempts"], seconds, strict=True)]),
        ),
        **_fields(
            "committed_per_s",
            median_interval([c / s for c, s in zip(info["round_committed"], seconds, strict=True)]),
        ),
        "p99_seconds": info["p99_seconds"],
    }


def add(results: Results, benchmarks: list[Bench]) -> None:
    """Add one row per conflicts case, ordered by skew, retry and writers."""
    cases = sorted(
        by_kind(benchmarks, "conflicts"),
        key=lambda b: (
            b["extra_info"]["skew"],
            b["extra_info"]["retry"],
            b["extra_info"]["writers"],
        ),
    )
    for b in cases:
        results.add("conflicts", row(b))
