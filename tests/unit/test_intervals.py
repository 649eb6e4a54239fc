"""The 95 % intervals every figure carries."""

from __future__ import annotations

import random
import statistics

import pytest

from bench.report.intervals import (
    Interval,
    median_interval,
    median_ranks,
    proportion_interval,
    quotient,
    rate_interval,
    ratio_interval,
)


def test_median_ranks_reach_95_percent_from_six_rounds() -> None:
    assert median_ranks(5) == (0, 4, 0.9375)
    for n in range(6, 40):
        lo, hi, coverage = median_ranks(n)
        assert coverage >= 0.95
        assert lo == n - 1 - hi


def test_median_interval_holds_the_median_between_order_statistics() -> None:
    interval = median_interval([5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 7.0, 8.0, 6.0, 10.0, 11.0])
    assert (interval.low, interval.value, interval.high) == (2.0, 6.0, 10.0)


def test_median_interval_covers_the_true_median_about_95_percent_of_the_time() -> None:
    rng = random.Random(1)
    covered = sum(
        median_interval([rng.lognormvariate(0, 1) for _ in range(15)]).low
        <= 1.0
        <= median_interval([rng.lognormvariate(0, 1) for _ in range(15)]).high
        for _ in range(2000)
    )
    assert covered / 2000 > 0.93


def test_rate_interval_maps_the_slowest_round_to_the_low_rate() -> None:
    interval = rate_interval(100, [0.5, 1.0, 2.0, 1.0, 1.0])
    assert (interval.low, interval.value, interval.high) == (50.0, 100.0, 200.0)


def test_ratio_interval_is_reproducible_and_holds_the_ratio_of_medians() -> None:
    a, b = [1.0, 1.1, 0.9, 1.05, 1.2, 0.95], [2.0, 2.1, 1.9, 2.2, 2.0, 1.8]
    first, second = ratio_interval(a, b), ratio_interval(a, b)
    assert first == second
    assert first.value == pytest.approx(statistics.median(a) / statistics.median(b))
    assert first.low < first.value < first.high


def test_proportion_interval_is_wilson() -> None:
    interval = proportion_interval(94, 1000)
    assert interval.value == 0.094
    assert interval.low == pytest.approx(0.0774, abs=1e-4)
    assert interval.high == pytest.approx(0.1137, abs=1e-4)
    assert proportion_interval(0, 50).low == 0.0


def test_an_interval_must_hold_its_value() -> None:
    with pytest.raises(ValueError, match="does not hold"):
        Interval(3.0, 1.0, 2.0)


def test_quotient_takes_the_corners() -> None:
    interval = quotient(Interval(10.0, 8.0, 12.0), Interval(2.0, 1.0, 4.0))
    assert (interval.low, interval.value, interval.high) == (2.0, 5.0, 12.0)
