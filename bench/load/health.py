"""The generator watches itself: did it keep the intended schedule?"""

from __future__ import annotations

from dataclasses import dataclass

from bench.load.latency import Summary

SEND_LAG_THRESHOLD_S = 0.05
"""A p99 send lag (sent - intended) above this means the schedule slipped."""
MIN_RATE_RATIO = 0.95
"""An achieved rate below this share of the target means the schedule slipped."""


@dataclass(frozen=True)
class ScheduleVerdict:
    """Whether the run measured what it meant to measure, and if not, why."""

    achieved_rps: float
    target_rps: float | None
    send_lag_p99: float
    send_lag_max: float
    problems: tuple[str, ...]

    @property
    def kept(self) -> bool:
        return not self.problems


def judge(
    summary: Summary,
    *,
    duration_s: float,
    target_rps: float | None,
    lag_threshold_s: float = SEND_LAG_THRESHOLD_S,
) -> ScheduleVerdict:
    """Achieved rate = requests sent within the measured window / its length."""
    if summary.sent_times:
        end = summary.first_intended + duration_s
        in_window = sum(1 for t in summary.sent_times if t <= end)
    else:
        in_window = 0
    achieved = in_window / duration_s
    lag_p99 = summary.send_lag.percentile(0.99) if summary.send_lag.count else 0.0
    lag_max = summary.send_lag.summary()["max"]
    problems: list[str] = []
    if target_rps is not None:
        if achieved < MIN_RATE_RATIO * target_rps:
            problems.append(
                f"achieved {achieved:.1f} req/s, below {MIN_RATE_RATIO:.0%} of the target"
                f" {target_rps:.1f} req/s"
            )
        if lag_p99 > lag_threshold_s:
            problems.append(
                f"p99 send lag {lag_p99 * 1000:.0f} ms exceeds {lag_threshold_s * 1000:.0f} ms:"
                " requests waited for a free slot (corrected latency includes that wait)"
            )
    return ScheduleVerdict(achieved, target_rps, lag_p99, lag_max, tuple(problems))
