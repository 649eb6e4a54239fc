"""Derived replay figures: the cost of a snapshot's tail, and where snapshots start to pay.

Both come from rows whose snapshot leaves a tail (`tail_events` counted by the store), never from
a snapshot at the very end of a stream, which replays nothing and flatters snapshots.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from bench.report.intervals import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE, Z95, Interval

Row = Mapping[str, Any]
Comparison = Literal["faster", "slower", "noise"]

MIN_RELATIVE_SIGMA = 0.02
"""Floor of a row's noise in the fit (2 % of its time): no round-trip is timed better than that."""


def seconds_interval(row: Row) -> Interval:
    """The row's rehydrate time with its interval (`seconds_low`/`seconds_high`, else exact)."""
    value = float(row["seconds"])
    low, high = row.get("seconds_low"), row.get("seconds_high")
    if isinstance(low, (int, float)) and isinstance(high, (int, float)):
        return Interval(value, min(float(low), value), max(float(high), value))
    return Interval(value, value, value, 1.0)


def compare(snapshot: Interval, full: Interval) -> Comparison:
    """Whether a snapshot rehydrate is faster or slower than the full replay beyond noise."""
    if snapshot.high < full.low:
        return "faster"
    if snapshot.low > full.high:
        return "slower"
    return "noise"


def _with_snapshot(row: Row) -> bool:
    every = row.get("snapshot_every")
    return every is not None and row["tail_events"] < row["events"]


@dataclass(frozen=True)
class BreakEven:
    """Where snapshots every `snapshot_every` events, leaving `tail_events`, beat a full replay."""

    snapshot_every: int
    tail_events: int
    compared: tuple[tuple[int, Comparison], ...]
    """Each stream length measured both ways, and how the snapshot rehydrate compared."""
    events: float | None
    """Length where the median times cross (log-log interpolation); None when they do not."""

    @property
    def faster_from(self) -> int | None:
        """Shortest compared length from which every longer one is faster beyond noise."""
        found: int | None = None
        for events, outcome in reversed(self.compared):
            if outcome != "faster":
                break
            found = events
        return found

    @property
    def within_noise(self) -> list[int]:
        """Compared lengths where the two intervals overlap."""
        return [events for events, outcome in self.compared if outcome == "noise"]


def break_even(replay: Sequence[Row]) -> list[BreakEven]:
    """Per (interval, tail): compare each snapshot row with the full replay of the same length.

    The crossing interpolates the median gain on log-log axes between the last length where the
    snapshot was not faster and the next; `compared` keeps each length's verdict from intervals.
    """
    full = {r["events"]: r for r in replay if r["snapshot_every"] is None}
    groups: dict[tuple[int, int], list[Row]] = {}
    for r in replay:
        if _with_snapshot(r) and r["events"] in full:
            groups.setdefault((r["snapshot_every"], r["tail_events"]), []).append(r)
    found: list[BreakEven] = []
    for (every, tail), rows in sorted(groups.items()):
        points = sorted(
            (r["events"], seconds_interval(r), seconds_interval(full[r["events"]])) for r in rows
        )
        compared = tuple((n, compare(snap, off)) for n, snap, off in points)
        gains = [(n, off.value - snap.value) for n, snap, off in points]
        found.append(BreakEven(every, tail, compared, _crossing(gains)))
    return found


def _crossing(gains: Sequence[tuple[int, float]]) -> float | None:
    """Length from which the gain stays positive; None if it never does."""
    last_loss = max((i for i, (_, gain) in enumerate(gains) if gain <= 0), default=None)
    if last_loss is None:
        return float(gains[0][0])
    if last_loss == len(gains) - 1:
        return None
    (n0, g0), (n1, g1) = gains[last_loss], gains[last_loss + 1]
    t = g0 / (g0 - g1)
    return math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0)))


@dataclass(frozen=True)
class TailCost:
    """Rehydrate time with a snapshot ≈ `fixed` + `per_event` * tail, fitted over the rows."""

    fixed: Interval
    """Seconds at a zero tail: reading and decoding the snapshot, plus the tail query."""
    per_event: Interval
    """Seconds per event replayed after the snapshot."""
    rows: int

    def at(self, tail: float) -> float:
        """The fitted rehydrate time for `tail` events after the snapshot."""
        return self.fixed.value + self.per_event.value * tail

    @property
    def snapshot_in_events(self) -> float:
        """The fixed cost as a number of tail events replayed in the same time."""
        return self.fixed.value / self.per_event.value if self.per_event.value > 0 else math.inf


def _wls(points: Sequence[tuple[float, float, float]]) -> tuple[float, float] | None:
    """Weighted least squares of y = a + b·x over (x, y, sigma); None when x does not vary."""
    w = [1 / s**2 for _, _, s in points]
    sw = sum(w)
    mx = sum(wi * x for wi, (x, _, _) in zip(w, points, strict=True)) / sw
    my = sum(wi * y for wi, (_, y, _) in zip(w, points, strict=True)) / sw
    sxx = sum(wi * (x - mx) ** 2 for wi, (x, _, _) in zip(w, points, strict=True))
    if sxx <= 0:
        return None
    sxy = sum(wi * (x - mx) * (y - my) for wi, (x, y, _) in zip(w, points, strict=True))
    b = sxy / sxx
    return my - b * mx, b


def tail_cost(replay: Sequence[Row]) -> TailCost | None:
    """Fit rehydrate time against the tail over the rows that loaded a snapshot.

    Each row is weighted by its own interval (sigma = half-width / 1.96, at least 2 % of its
    time); the 95 % intervals of both coefficients come from a seeded bootstrap over the rows.
    None when fewer than three rows or two distinct tails were measured.
    """
    points = []
    for r in replay:
        if not _with_snapshot(r):
            continue
        t = seconds_interval(r)
        sigma = max((t.high - t.low) / 2 / Z95, MIN_RELATIVE_SIGMA * t.value, 1e-12)
        points.append((float(r["tail_events"]), t.value, sigma))
    if len(points) < 3 or len({x for x, _, _ in points}) < 2:
        return None
    fit = _wls(points)
    if fit is None:
        return None
    rng = random.Random(BOOTSTRAP_SEED)
    fixed: list[float] = []
    slope: list[float] = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        resampled = _wls(rng.choices(points, k=len(points)))
        if resampled is not None:
            fixed.append(resampled[0])
            slope.append(resampled[1])
    return TailCost(_percentile(fit[0], fixed), _percentile(fit[1], slope), len(points))


def _percentile(value: float, samples: Sequence[float]) -> Interval:
    ordered = sorted(samples)
    tail = (1 - CONFIDENCE) / 2
    low = ordered[int(tail * len(ordered))]
    high = ordered[min(len(ordered) - 1, int((1 - tail) * len(ordered)))]
    return Interval(value, min(low, value), max(high, value))


def full_replay_length(replay: Sequence[Row], seconds: float) -> float | None:
    """The stream length whose full replay takes `seconds`, on the measured curve.

    The curve is the snapshots-off medians made non-decreasing from the long end (a shorter
    stream never replays slower: interference only adds time), interpolated on log-log axes. The
    shortest length when even it takes longer; None when even the longest replays faster.
    """
    points = sorted((r["events"], r["seconds"]) for r in replay if r["snapshot_every"] is None)
    curve: list[tuple[int, float]] = []
    for events, t in reversed(points):
        curve.insert(0, (events, min(t, curve[0][1]) if curve else t))
    if not curve or curve[-1][1] < seconds:
        return None
    if curve[0][1] >= seconds:
        return float(curve[0][0])
    for (n0, t0), (n1, t1) in pairwise(curve):
        if t0 < seconds <= t1:
            f = (math.log(seconds) - math.log(t0)) / (math.log(t1) - math.log(t0))
            return math.exp(math.log(n0) + f * (math.log(n1) - math.log(n0)))
    return None


@dataclass(frozen=True)
class FittedBreakEven:
    """Stream length from which snapshots every `snapshot_every` pay at the worst tail, by the
    fit: where a full replay costs as much as the snapshot plus k - 1 events."""

    snapshot_every: int
    events: float | None
    low: float | None
    """From the cheap end of the fit's interval (None: beyond the longest full replay)."""
    high: float | None
    """From the dear end of the fit's interval (None: beyond the longest full replay)."""


def fitted_break_even(replay: Sequence[Row], cost: TailCost) -> list[FittedBreakEven]:
    """Per interval: the worst-tail rehydrate cost of the fit, read off the full-replay curve.

    No stream pays before it holds its first snapshot, so a length below k reads as k.
    """
    intervals = sorted({r["snapshot_every"] for r in replay if r["snapshot_every"] is not None})
    found = []
    for k in intervals:
        tail = k - 1
        costs = (
            cost.at(tail),
            cost.fixed.low + cost.per_event.low * tail,
            cost.fixed.high + cost.per_event.high * tail,
        )
        lengths = [full_replay_length(replay, t) for t in costs]
        value, low, high = (None if n is None else max(n, float(k)) for n in lengths)
        found.append(FittedBreakEven(k, value, low, high))
    return found
