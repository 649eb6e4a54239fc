"""Load shapes as data: segments of constant arrival rate, and the timetable of intended starts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ShapeName = Literal["constant", "step", "spike", "soak"]
SHAPES: tuple[ShapeName, ...] = ("constant", "step", "spike", "soak")

STEPS = 4
"""A `step` shape climbs to the rate in this many equal steps."""
SPIKE_FACTOR = 3.0
"""A `spike` multiplies the rate by this for the middle tenth of the run."""
SOAK_RAMP_FRACTION = 0.1
"""A `soak` ramps up at half rate for this fraction of the run, then holds the rate."""


@dataclass(frozen=True)
class Segment:
    """`duration_s` seconds at `rate` arrivals per second (a run's `Phase` is warm-up or
    measured: bench/load/samples.py)."""

    duration_s: float
    rate: float


def phases(shape: ShapeName, rate: float, duration_s: float) -> list[Segment]:
    """The segments of `shape` peaking (or holding) at `rate` over `duration_s`."""
    if rate <= 0 or duration_s <= 0:
        raise ValueError("rate and duration must be positive")
    match shape:
        case "constant":
            return [Segment(duration_s, rate)]
        case "step":
            return [Segment(duration_s / STEPS, rate * (i + 1) / STEPS) for i in range(STEPS)]
        case "spike":
            edge = duration_s * 0.45
            return [
                Segment(edge, rate),
                Segment(duration_s - 2 * edge, rate * SPIKE_FACTOR),
                Segment(edge, rate),
            ]
        case "soak":
            ramp = duration_s * SOAK_RAMP_FRACTION
            return [Segment(ramp, rate / 2), Segment(duration_s - ramp, rate)]
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def rate_at(plan: list[Segment], t: float) -> float:
    """The target rate `t` seconds into the plan (0 outside it)."""
    start = 0.0
    for phase in plan:
        if start <= t < start + phase.duration_s:
            return phase.rate
        start += phase.duration_s
    return 0.0


def timetable(plan: list[Segment]) -> list[float]:
    """Intended start offsets (seconds from the epoch), evenly spaced within each phase.

    Arrival i happens when the integrated rate reaches i, so a phase change never loses or
    doubles an arrival and the count over the plan is floor(sum(rate * duration)).
    """
    offsets: list[float] = []
    start = 0.0
    done = 0.0  # arrivals owed so far (fractional)
    for phase in plan:
        end_count = done + phase.rate * phase.duration_s
        i = math.ceil(done - 1e-9)
        while i < end_count - 1e-9:
            offsets.append(start + (i - done) / phase.rate)
            i += 1
        done = end_count
        start += phase.duration_s
    return offsets


def mean_rate(plan: list[Segment]) -> float:
    """Arrivals per second averaged over the plan."""
    total = sum(p.duration_s for p in plan)
    return sum(p.rate * p.duration_s for p in plan) / total
