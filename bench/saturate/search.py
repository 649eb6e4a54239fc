"""The saturation search: bracket by doubling from a start rate until a miss, then bisect.

Each step is one measurement at one offered rate (`StepResult`); a step meets the SLO when its
run was valid (the generator kept its schedule), its audit passed and its corrected latency at
the SLO's percentile is within the bound. A start rate that misses is halved
until one meets. The search stops bisecting when the bracket
[last met, first missed] is narrower than `tolerance` of its low end; its low end is the answer.

A step whose latency interval holds the SLO is a toss-up (`StepResult.soft`): with `recheck` N the
search reruns its rate N times as long, and that longer run's verdict is the one it goes on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.report.constants import PERCENTILES_TO_REPORT

_SLO = re.compile(r"^(p\d+)\s*=\s*([0-9.]+)\s*(ms|s)$")
_UNITS = {"ms": 1e-3, "s": 1.0}
HALVINGS = 3
"""When the start rate misses, halve it at most this many times to find a rate that meets."""
RECHECK = 3
"""By default a toss-up step is rerun three times as long."""


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
    step_s: float = field(kw_only=True)
    """The measured time asked of the step's run: --step, times the stretch of a recheck."""
    recheck: bool = field(default=False, kw_only=True)
    """Whether this run rechecks a toss-up step: the same rate, longer."""

    @property
    def soft(self) -> bool:
        """Whether the SLO lies inside the interval of a step that could meet it: a rerun could
        give the other verdict. An invalid, unaudited or failed step misses whatever its latency."""
        return (
            self.valid
            and self.audit_passed
            and self.error is None
            and self.latency_low_s is not None
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
    """Every step in the order run (a recheck right after the step it rechecks), and the bracket
    found."""

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


def check_recheck(stretch: int) -> None:
    """ValueError naming --recheck unless it is 0 (off) or at least 2: a recheck as long as the
    step would only toss the coin again."""
    if stretch < 0 or stretch == 1:
        raise ValueError(f"--recheck: 0 (no recheck) or a stretch of at least 2, got {stretch}")


def tossups(steps: Sequence[StepResult]) -> list[StepResult]:
    """The toss-up steps whose verdict the search went on: soft ones that were not rechecked, and
    soft rechecks."""
    rechecked = {s.rate for s in steps if s.recheck}
    return [s for s in steps if s.soft and (s.recheck or s.rate not in rechecked)]


def met_at(steps: Sequence[StepResult], rate: float) -> bool:
    """The verdict that counts for `rate`: its recheck's if it had one, else its step's."""
    runs = [s for s in steps if s.rate == rate]
    if not runs:
        raise ValueError(f"no step ran at {rate:g} req/s")
    return ([s for s in runs if s.recheck] or runs)[-1].met


def saturate(
    step: Callable[[float, int], StepResult],
    *,
    low: float,
    high: float,
    tolerance: float = 0.1,
    max_steps: int = 12,
    recheck: int = 0,
) -> Search:
    """Double from `low` (capped at `high`) until a rate misses, then bisect the bracket.

    If `low` itself misses, halve it (at most `HALVINGS` times) until a rate meets, then bisect.
    `step(rate, stretch)` measures a rate for `stretch` times the step's length: 1, or `recheck`
    (0: off) to recheck a toss-up. `max_steps` bounds the rates tried; rechecks are not counted.
    """
    check_bracket(low, high, tolerance)
    check_recheck(recheck)
    steps: list[StepResult] = []
    tried: list[float] = []

    def meets(rate: float) -> bool:
        tried.append(rate)
        steps.append(step(rate, 1))
        if recheck and steps[-1].soft:
            steps.append(step(rate, recheck))
        return met_at(steps, rate)

    met: float | None = None
    missed: float | None = None
    rate = low
    while len(tried) < max_steps:
        if not meets(rate):
            missed = rate
            break
        met = rate
        if rate >= high:
            break
        rate = min(rate * 2, high)
    floor = low / 2**HALVINGS
    while met is None and missed is not None and missed / 2 >= floor and len(tried) < max_steps:
        rate = missed / 2
        if meets(rate):
            met = rate
        else:
            missed = rate
    while met is not None and missed is not None and len(tried) < max_steps:
        if missed - met <= tolerance * met:
            break
        rate = round((met + missed) / 2, 1)
        if rate in (met, missed):
            break
        if meets(rate):
            met = rate
        else:
            missed = rate
    return Search(steps, met, missed)
