"""Latency in HdrHistograms, raw (from the send) and corrected (from the intended start)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from bench.load.pacing import Unsent
from bench.load.samples import Sample
from bench.report.constants import PERCENTILES_TO_REPORT, LagStage
from bench.report.intervals import Z95, Interval

MICROS = 1_000_000
HIGHEST_TRACKABLE_US = 3_600 * MICROS
SIGNIFICANT_DIGITS = 3


class LatencyHistogram:
    """An HdrHistogram of seconds, stored as microseconds (1 µs … 1 h, 3 significant digits)."""

    def __init__(self) -> None:
        self._h = HdrHistogram(1, HIGHEST_TRACKABLE_US, SIGNIFICANT_DIGITS)

    def record(self, seconds: float) -> None:
        self._h.record_value(min(max(1, round(seconds * MICROS)), HIGHEST_TRACKABLE_US))

    @property
    def count(self) -> int:
        return int(self._h.get_total_count())

    def percentile(self, quantile: float) -> float:
        """The value at `quantile` (0..1) in seconds."""
        return float(self._h.get_value_at_percentile(quantile * 100)) / MICROS

    def percentile_interval(self, quantile: float) -> Interval:
        """The value at `quantile` and its distribution-free 95 % interval (order statistics).

        The rank of the sample quantile is binomial: its bounds are the values at
        quantile ± 1.96·√(q(1-q)/n).
        """
        n = self.count
        if not n:
            return Interval(0.0, 0.0, 0.0)
        half = Z95 * math.sqrt(quantile * (1 - quantile) / n)
        return Interval(
            self.percentile(quantile),
            self.percentile(max(0.0, quantile - half)),
            self.percentile(min(1.0, quantile + half)),
        )

    def summary(self) -> dict[str, float]:
        """{p50, p90, p99, p999, max} in seconds (zeros when empty)."""
        if not self.count:
            return {**{k: 0.0 for k, _ in PERCENTILES_TO_REPORT}, "max": 0.0}
        out = {key: self.percentile(q) for key, q in PERCENTILES_TO_REPORT}
        out["max"] = float(self._h.get_max_value()) / MICROS
        return out


@dataclass
class RequestStats:
    """Counts by outcome and both latency histograms of one request type (or all)."""

    outcomes: Counter[str] = field(default_factory=Counter)
    raw: LatencyHistogram = field(default_factory=LatencyHistogram)
    corrected: LatencyHistogram = field(default_factory=LatencyHistogram)

    def add(self, sample: Sample) -> None:
        self.outcomes[sample.outcome] += 1
        self.raw.record(sample.latency)
        self.corrected.record(sample.corrected)

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())


@dataclass
class Summary:
    """The measured samples of a run, per request type and overall."""

    total: RequestStats = field(default_factory=RequestStats)
    by_request: dict[str, RequestStats] = field(default_factory=dict)
    visibility: LatencyHistogram = field(default_factory=LatencyHistogram)
    send_lag: LatencyHistogram = field(default_factory=LatencyHistogram)
    first_intended: float = float("inf")
    sent_times: list[float] = field(default_factory=list)
    scheduled: int | None = None
    """Open model: measured tickets in the timetable (None when no timetable was kept)."""
    unsent: int = 0
    """Measured tickets never sent; each is in `total.corrected` and `send_lag`, censored."""

    def censor(self, intended: float, stopped_at: float) -> None:
        """Count a request that was due at `intended` but never sent before `stopped_at`.

        Its corrected latency and send lag are at least `stopped_at - intended`: it is recorded
        with that value (a lower bound), so overload raises the corrected tail instead of
        thinning it.
        """
        waited = max(0.0, stopped_at - intended)
        self.unsent += 1
        self.total.corrected.record(waited)
        self.send_lag.record(waited)
        self.first_intended = min(self.first_intended, intended)


def summarize(samples: Iterable[Sample], unsent: Iterable[Unsent] = ()) -> Summary:
    """Fold measured samples (warm-up ones are skipped) and never-sent tickets into a summary.

    `unsent` holds each locust process's record of tickets it never sent; they are censored at
    the moment that process stopped sending (see `Summary.censor`).
    """
    s = Summary()
    for sample in samples:
        if sample.phase != "measured":
            continue
        if sample.request == LagStage.VISIBILITY:
            s.visibility.record(sample.latency)
            continue
        s.total.add(sample)
        s.by_request.setdefault(sample.request, RequestStats()).add(sample)
        s.send_lag.record(max(0.0, sample.send_lag))
        s.first_intended = min(s.first_intended, sample.intended)
        s.sent_times.append(sample.sent)
    for record in unsent:
        s.scheduled = (s.scheduled or 0) + record.scheduled
        for intended in record.intended:
            s.censor(intended, record.stopped_at)
    return s
