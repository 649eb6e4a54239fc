"""The generator watches itself: did it keep the intended schedule, or is the run invalid?

A run is INVALID (exit status 3) when the generator fell behind by any of three rules:
the achieved rate is below 95 % of the target, more than 1 % of the scheduled requests were
never sent, or the p99 send lag (sent - intended, never-sent requests censored at the end)
exceeds 50 ms. Its latency figures then describe the generator as much as the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.load.latency import Summary
from bench.report.intervals import Interval, proportion_interval

SEND_LAG_THRESHOLD_S = 0.05
"""A p99 send lag (sent - intended) above this means the schedule slipped."""
MIN_RATE_RATIO = 0.95
"""An achieved rate below this share of the target means the schedule slipped."""
MAX_UNSENT_FRACTION = 0.01
"""More than this share of the scheduled requests never sent means the schedule slipped."""


@dataclass(frozen=True)
class ScheduleVerdict:
    """Whether the run measured what it meant to measure, and if not, why."""

    achieved_rps: float
    target_rps: float | None
    send_lag_p99: float
    send_lag_max: float
    problems: tuple[str, ...]
    send_lag_p50: float = 0.0
    scheduled: int | None = None
    unsent: int = 0
    reasons: tuple[str, ...] = ()
    """Short forms of `problems` for the report's INVALID line."""

    @property
    def kept(self) -> bool:
        return not self.problems

    @property
    def valid(self) -> bool:
        """False when the generator fell behind (exit status 3)."""
        return self.kept

    @property
    def achieved_ratio(self) -> float | None:
        if not self.target_rps:
            return None
        return self.achieved_rps / self.target_rps

    @property
    def unsent_fraction(self) -> float | None:
        return self.unsent / self.scheduled if self.scheduled else None

    @property
    def reason(self) -> str | None:
        """`the generator fell behind: …` for an invalid run, else None."""
        if self.valid:
            return None
        return "the generator fell behind: " + ", ".join(self.reasons or self.problems)


def _percent(x: float) -> str:
    """71 %, 1.4 %: two significant figures at most, as the report's INVALID line shows it."""
    return f"{x * 100:.0f} %" if x >= 0.1 else f"{x * 100:.1f} %"


def judge(
    summary: Summary,
    *,
    duration_s: float,
    target_rps: float | None,
    lag_threshold_s: float = SEND_LAG_THRESHOLD_S,
) -> ScheduleVerdict:
    """Apply the three rules; the achieved rate counts sends within the measured window."""
    if summary.sent_times:
        end = summary.first_intended + duration_s
        in_window = sum(1 for t in summary.sent_times if t <= end)
    else:
        in_window = 0
    achieved = in_window / duration_s
    lag = summary.send_lag
    lag_p50 = lag.percentile(0.5) if lag.count else 0.0
    lag_p99 = lag.percentile(0.99) if lag.count else 0.0
    lag_max = lag.summary()["max"]
    problems: list[str] = []
    reasons: list[str] = []
    if target_rps is not None:
        if achieved < MIN_RATE_RATIO * target_rps:
            problems.append(
                f"achieved {achieved:.1f} req/s, below {MIN_RATE_RATIO:.0%} of the target"
                f" {target_rps:.1f} req/s"
            )
            reasons.append(f"achieved {_percent(achieved / target_rps)} of the target rate")
        if summary.scheduled and summary.unsent > MAX_UNSENT_FRACTION * summary.scheduled:
            share = summary.unsent / summary.scheduled
            problems.append(
                f"{summary.unsent} of {summary.scheduled} scheduled requests ({share:.1%}) were"
                f" never sent, above {MAX_UNSENT_FRACTION:.0%} (counted in the corrected"
                " latency as waiting until the end of the run)"
            )
            reasons.append(f"{_percent(share)} unsent")
        if lag_p99 > lag_threshold_s:
            problems.append(
                f"p99 send lag {lag_p99 * 1000:.0f} ms exceeds {lag_threshold_s * 1000:.0f} ms:"
                " requests waited for a free slot (corrected latency includes that wait)"
            )
            reasons.append(f"p99 send lag {lag_p99 * 1000:.0f} ms")
    return ScheduleVerdict(
        achieved_rps=achieved,
        target_rps=target_rps,
        send_lag_p99=lag_p99,
        send_lag_max=lag_max,
        problems=tuple(problems),
        send_lag_p50=lag_p50,
        scheduled=summary.scheduled,
        unsent=summary.unsent,
        reasons=tuple(reasons),
    )


def _interval(i: Interval) -> dict[str, float]:
    return {"value": i.value, "low": i.low, "high": i.high}


def health_fields(summary: Summary, verdict: ScheduleVerdict) -> dict[str, Any]:
    """The load row's generator-health figures (results.json), with their 95 % intervals."""
    fraction: dict[str, float] | None = None
    if verdict.scheduled:
        fraction = _interval(proportion_interval(verdict.unsent, verdict.scheduled))
    return {
        "valid": verdict.valid,
        "invalid_reason": verdict.reason,
        "scheduled": verdict.scheduled,
        "unsent": verdict.unsent,
        "unsent_fraction": fraction,
        "achieved_ratio": verdict.achieved_ratio,
        "send_lag_seconds": {
            "p50": _interval(summary.send_lag.percentile_interval(0.5)),
            "p99": _interval(summary.send_lag.percentile_interval(0.99)),
            "max": verdict.send_lag_max,
        },
    }
