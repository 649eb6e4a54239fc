"""Derived figures: the snapshot break-even point."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True)
class BreakEven:
    """Where snapshots every `snapshot_every` events start to beat a full replay."""

    snapshot_every: int
    events: float | None
    """Stream length (events) from which the snapshot replay is faster; None = never in range."""


def break_even(replay: Sequence[Row]) -> list[BreakEven]:
    """Per snapshot interval: the stream length where replay with snapshots gets cheaper.

    Compares `seconds` of each interval with the snapshot-off row of the same length and
    interpolates the crossing on log-log axes between the two neighbouring lengths.
    """
    off = {r["events"]: r["seconds"] for r in replay if r["snapshot_every"] is None}
    intervals = sorted({r["snapshot_every"] for r in replay if r["snapshot_every"] is not None})
    found: list[BreakEven] = []
    for k in intervals:
        points = sorted(
            (r["events"], r["seconds"] - off[r["events"]])
            for r in replay
            if r["snapshot_every"] == k and r["events"] in off
        )
        crossing: float | None = None
        previous: tuple[int, float] | None = None
        for events, gain in points:
            if gain < 0:
                if previous is None:
                    crossing = float(events)
                else:
                    n0, g0 = previous
                    t = g0 / (g0 - gain)
                    crossing = math.exp(math.log(n0) + t * (math.log(events) - math.log(n0)))
                break
            previous = (events, gain)
        found.append(BreakEven(k, crossing))
    return found
