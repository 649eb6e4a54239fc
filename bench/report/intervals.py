"""95 % intervals for the figures of a run, computed from its rounds.

- A timed figure is the median of its rounds; its interval is the distribution-free
  order-statistic interval of the median (binomial ranks), which needs no assumption about the
  shape of the noise. Below 6 rounds no pair of ranks reaches 95 %: the interval is then
  [min, max] and `confidence` says how much it really covers (e.g. 0.94 for 5 rounds).
- A rate (units / seconds) maps the interval of the median time through `units / t`.
- A ratio of two independently measured figures uses a seeded bootstrap of the ratio of the
  medians (percentile method), so it is reproducible run to run.
- A proportion (conflicts per attempt) uses the Wilson score interval.

An interval assumes the rounds are exchangeable. Paired rounds whose ratio drifts through the
run (one side slowing while the other holds) break that without widening the interval, so a
paired ratio also carries the Mann-Kendall trend z of its per-pair ratios in run order
(`trend_z`), and a target treats |z| > `TREND_Z` as INCONCLUSIVE.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261202
TREND_Z = 2.576
"""|z| above which `trend_z` calls a series drifting: the two-sided 1 % level."""


@dataclass(frozen=True)
class Interval:
    """A figure and its 95 % interval (`low` <= `value` <= `high`)."""

    value: float
    low: float
    high: float
    confidence: float = CONFIDENCE

    def __post_init__(self) -> None:
        if not self.low <= self.value <= self.high:
            raise ValueError(f"interval [{self.low}, {self.high}] does not hold {self.value}")

    @property
    def relative_halfwidth(self) -> float:
        """Half the interval's width over the value (inf for a zero value)."""
        if self.value == 0:
            return 0.0 if self.low == self.high == 0 else math.inf
        return (self.high - self.low) / 2 / abs(self.value)

    def fields(self) -> dict[str, float]:
        """`{"low": …, "high": …}` for a results.json row."""
        return {"low": self.low, "high": self.high}

    def scaled(self, factor: float) -> Interval:
        """The same interval in another unit (`factor` > 0)."""
        return Interval(self.value * factor, self.low * factor, self.high * factor, self.confidence)


def exact(value: float) -> Interval:
    """A figure counted once, without noise of its own (e.g. a count)."""
    return Interval(value, value, value, 1.0)


def _binomial_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return float(sum(math.comb(n, i) for i in range(k + 1))) / float(2**n)


def median_ranks(n: int) -> tuple[int, int, float]:
    """0-based ranks (lo, hi) of the sorted rounds bounding the median, and their coverage."""
    if n < 1:
        raise ValueError("no rounds")
    best = (0, n - 1, 1 - 2 * _binomial_cdf(0, n) if n > 1 else 0.0)
    for j in range(1, n // 2 + 1):
        coverage = 1 - 2 * _binomial_cdf(j - 1, n)
        if coverage < CONFIDENCE:
            break
        best = (j - 1, n - j, coverage)
    return best


def median_interval(samples: Sequence[float]) -> Interval:
    """The median of `samples` and its distribution-free 95 % interval."""
    ordered = sorted(samples)
    lo, hi, coverage = median_ranks(len(ordered))
    return Interval(statistics.median(ordered), ordered[lo], ordered[hi], coverage)


def rate_interval(units: float, seconds: Sequence[float]) -> Interval:
    """`units` per second at the median round time, with the interval mapped through units/t."""
    t = median_interval(seconds)
    return Interval(units / t.value, units / t.high, units / t.low, t.confidence)


def _bootstrap_median(samples: Sequence[float], rng: random.Random) -> float:
    return statistics.median(rng.choices(samples, k=len(samples)))


def ratio_interval(numerator: Sequence[float], denominator: Sequence[float]) -> Interval:
    """median(numerator) / median(denominator) with a seeded percentile-bootstrap interval."""
    if not numerator or not denominator:
        raise ValueError("a ratio needs rounds on both sides")
    value = statistics.median(numerator) / statistics.median(denominator)
    rng = random.Random(BOOTSTRAP_SEED)
    ratios = sorted(
        _bootstrap_median(numerator, rng) / _bootstrap_median(denominator, rng)
        for _ in range(BOOTSTRAP_RESAMPLES)
    )
    tail = (1 - CONFIDENCE) / 2
    low = ratios[int(tail * BOOTSTRAP_RESAMPLES)]
    high = ratios[min(BOOTSTRAP_RESAMPLES - 1, int((1 - tail) * BOOTSTRAP_RESAMPLES))]
    return Interval(value, min(low, value), max(high, value))


def rates_ratio_interval(
    units_a: float, seconds_a: Sequence[float], units_b: float, seconds_b: Sequence[float]
) -> Interval:
    """(units_a / t_a) / (units_b / t_b) at the median round times, bootstrapped from the rounds
    of both (so it equals the quotient of the two rates as reported)."""
    return ratio_interval(seconds_b, seconds_a).scaled(units_a / units_b)


def proportion_interval(hits: int, trials: int) -> Interval:
    """hits / trials with the Wilson score interval."""
    if trials <= 0:
        raise ValueError("a proportion needs at least one trial")
    p = hits / trials
    z2 = Z95**2
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2)) / (1 + z2 / trials)
    return Interval(p, max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def quotient(a: Interval, b: Interval) -> Interval:
    """a / b from two intervals alone (no rounds): the conservative corner interval."""
    if b.low <= 0:
        raise ValueError("the divisor's interval must be above zero")
    return Interval(a.value / b.value, a.low / b.high, a.high / b.low)


def pair_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """numerator / denominator of each pair (round r of one side over round r of the other)."""
    if len(numerators) != len(denominators):
        raise ValueError("pair ratios need as many numerators as denominators")
    return [n / d for n, d in zip(numerators, denominators, strict=True)]


def trend_z(values: Sequence[float]) -> float:
    """The Mann-Kendall trend test's z over `values` in the order they ran (ties corrected,
    continuity corrected): positive when they rose through the run, negative when they fell,
    beyond ±`TREND_Z` a drift the rounds' interval does not show; 0.0 below 3 values."""
    n = len(values)
    if n < 3:
        return 0.0
    s = sum(
        (values[j] > values[i]) - (values[j] < values[i])
        for i in range(n - 1)
        for j in range(i + 1, n)
    )
    ties = Counter(values).values()
    variance = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties)) / 18
    if variance <= 0 or s == 0:
        return 0.0
    return (s - 1 if s > 0 else s + 1) / math.sqrt(variance)
