"""Latency in HdrHistograms, raw (from the send) and corrected (from the intended start)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from bench.load.samples import VISIBILITY, Sample
from bench.report.constants import PERCENTILES_TO_REPORT

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


def summarize(samples: Iterable[Sample]) -> Summary:
    """Fold measured samples (warm-up ones are skipped) into histograms and counts."""
    s = Summary()
    for sample in samples:
        if sample.phase != "measured":
            continue
        if sample.request == VISIBILITY:
            s.visibility.record(sample.latency)
            continue
        s.total.add(sample)
        s.by_request.setdefault(sample.request, RequestStats()).add(sample)
        s.send_lag.record(max(0.0, sample.send_lag))
        s.first_intended = min(s.first_intended, sample.intended)
        s.sent_times.append(sample.sent)
    return s
