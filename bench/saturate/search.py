"""The saturation search: bracket by doubling from a start rate until a miss, then bisect.

Each step is one measurement at one offered rate (`StepResult`); a step meets the SLO when its
run was valid (the generator kept its schedule), its audit passed and its corrected latency at
the SLO's percentile is within the bound. A start rate that misses is halved
until one meets. The search stops bisecting when the bracket
[last met, first missed] is narrower than `tolerance` of its low end; its low end is the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.report.constants import PERCENTILES_TO_REPORT

_SLO = re.compile(r"^(p\d+)\s*=\s*([0-9.]+)\s*(ms|s)$")
_UNITS = {"ms": 1e-3, "s": 1.0}
HALVINGS = 3
"""When the start rate misses, halve it at most this many times to find a rate that meets."""


@dataclass(frozen=True)
class Slo:
    """A latency objective: corrected `percentile` (e.g. p99) at most `seconds`."""

    percentile: str
    seconds: float

    def __str__(self) -> str:
        return f"{self.percentile}={self.seconds * 1e3:g}ms"


def parse_slo(text: str) -> Slo:
    """`p99=100ms` or `p50=0.2s` → Slo; ValueError naming --slo when malformed."""
    found = _SLO.match(text.strip())
    known = [key for key, _ in PERCENTILES_TO_REPORT]
    if found is None:
        raise ValueError(f"--slo: expected PERCENTILE=VALUE(ms|s), e.g. p99=100ms, got {text!r}")
    percentile, value, unit = found.groups()
    if percentile not in known:
        raise ValueError(f"--slo: percentile {percentile!r} is not reported; one of {known}")
    seconds = float(value) * _UNITS[unit]
    if seconds <= 0:
        raise ValueError(f"--slo: the bound must be positive, got {text!r}")
    return Slo(percentile, seconds)


@dataclass(frozen=True)
class StepResult:
    """One audited short run at an offered rate."""

    rate: float
    achieved_rps: float
    latency_s: float | None
    """Corrected latency at the SLO's percentile (None if the run could not measure it)."""
    lag_p99_s: float | None
    """The worst projection's end-to-end lag p99."""
    valid: bool
    audit_passed: bool
    slo: Slo
    error: str | None = None
    idle_ms_before: float | None = None
    """The machine's idle loop before the step (bench/report/cpu_probe.py; None: not probed)."""
    idle_ms_after: float | None = None
    latency_low_s: float | None = None
    """The 95 % interval of `latency_s` (order statistics: a p99 of a few hundred requests is
    one of its few largest, so a rerun can land well apart)."""
    latency_high_s: float | None = None
    projector_settings: list[dict[str, str]] = field(default_factory=list)
    """The settings the projectors reported during the step (`bench/run/system_settings.py`)."""

    @property
    def soft(self) -> bool:
        """Whether the SLO lies inside the interval: a rerun could give the other verdict."""
        return (
            self.latency_low_s is not None
            and self.latency_high_s is not None
            and self.latency_low_s <= self.slo.seconds < self.latency_high_s
        )

    @property
    def met(self) -> bool:
        return (
            self.valid
            and self.audit_passed
            and self.error is None
            and self.latency_s is not None
            and self.latency_s <= self.slo.seconds
        )


@dataclass(frozen=True)
class Search:
    """Every step in the order run, and the bracket found."""

    steps: list[StepResult]
    max_rate: float | None
    """The highest rate that met the SLO (None: not even the start rate)."""
    missed_at: float | None
    """The lowest rate above `max_rate` that missed (None: `high` itself met)."""


def check_bracket(low: float, high: float, tolerance: float) -> None:
    """ValueError naming the flag unless 0 < low <= high and 0 < tolerance < 1."""
    if not 0 < low <= high:
        raise ValueError(f"--low/--high: need 0 < low <= high, got {low:g} and {high:g}")
    if not 0 < tolerance < 1:
        raise ValueError(f"--tolerance: must lie in (0, 1), got {tolerance:g}")


def saturate(
    step: Callable[[float], StepResult],
    *,
    low: float,
    high: float,
    tolerance: float = 0.1,
    max_steps: int = 12,
) -> Search:
    """Double from `low` (capped at `high`) until a step misses, then bisect the bracket.

    If `low` itself misses, halve it (at most `HALVINGS` times) until a step meets, then bisect.
    """
    check_bracket(low, high, tolerance)
    steps: list[StepResult] = []
    met: float | None = None
    missed: float | None = None
    rate = low
    while len(steps) < max_steps:
        result = step(rate)
        steps.append(result)
        if not result.met:
            missed = rate
            break
        met = rate
        if rate >= high:
            break
        rate = min(rate * 2, high)
    floor = low / 2**HALVINGS
    while met is None and missed is not None and missed / 2 >= floor and len(steps) < max_steps:
        rate = missed / 2
        result = step(rate)
        steps.append(result)
        if result.met:
            met = rate
        else:
            missed = rate
    while met is not None and missed is not None and len(steps) < max_steps:
        if missed - met <= tolerance * met:
            break
        rate = round((met + missed) / 2, 1)
        if rate in (met, missed):
            break
        result = step(rate)
        steps.append(result)
        if result.met:
            met = rate
        else:
            missed = rate
    return Search(steps, met, missed)
