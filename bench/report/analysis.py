"""Derived figures: the snapshot break-even point and the issue-5 targets, checked in words."""

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


@dataclass(frozen=True)
class Target:
    """One target of issue 5 and how the run measured against it."""

    name: str
    goal: str
    met: bool | None
    """None when the run has no rows for it."""
    measured: str


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _find(rows: Sequence[Row], **match: Any) -> Row | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def check_targets(sections: Mapping[str, Sequence[Row]]) -> list[Target]:
    """Issue 5's targets as ratios measured in one run; each says met or missed in words."""
    replay = sections.get("replay", [])
    append = sections.get("append", [])
    peers = sections.get("peers", [])
    projection = sections.get("projection", [])
    targets: list[Target] = []

    row = _find(replay, events=10_000, snapshot_every=None)
    goal = "replay of a 10,000-event aggregate at >= 50% of the raw fetch rate of the same rows"
    if row is None or row["ratio"] is None:
        targets.append(Target("replay", goal, None, "not measured in this run"))
    else:
        ratio = row["ratio"]
        targets.append(
            Target(
                "replay",
                goal,
                ratio >= 0.5,
                f"{row['events_per_s']:,.0f} events/s = {_pct(ratio)} of raw fetch",
            )
        )

    big = _find(replay, events=100_000, snapshot_every=100)
    small = _find(replay, events=100, snapshot_every=100)
    goal = "with snapshots every 100, a 100,000-event aggregate rehydrates in <= 2x a 100-event one"
    if big is None or small is None:
        targets.append(Target("snapshots", goal, None, "not measured in this run"))
    else:
        factor = big["seconds"] / small["seconds"]
        targets.append(
            Target(
                "snapshots",
                goal,
                factor <= 2.0,
                f"{big['seconds'] * 1e3:.2f} ms vs {small['seconds'] * 1e3:.2f} ms = {factor:.2f}x",
            )
        )

    rows16 = [
        r
        for r in append
        if r["connections"] == 16 and r["batch"] == 1 and not r.get("snapshots", False)
    ]
    goal = "append at 16 connections at >= 80% of the raw insert ceiling's events/s"
    if not rows16 or rows16[0]["ratio"] is None:
        targets.append(Target("append", goal, None, "not measured in this run"))
    else:
        r16 = rows16[0]
        targets.append(
            Target(
                "append",
                goal,
                r16["ratio"] >= 0.8,
                f"{r16['events_per_s']:,.0f} events/s = {_pct(r16['ratio'])} of raw insert",
            )
        )

    for peer, workload, threshold in (
        ("eventsourcing", "append", 3.0),
        ("eventsourcing", "replay", 3.0),
        ("message-db", "append", 1.0),
        ("message-db", "replay", 1.0),
    ):
        goal = f"against {peer} ({workload}): ours >= {threshold:g}x theirs"
        prow = _find(peers, peer=peer, workload=workload)
        if prow is None:
            targets.append(Target(f"{peer} {workload}", goal, None, "not measured in this run"))
            continue
        targets.append(
            Target(
                f"{peer} {workload}",
                goal,
                prow["ratio"] >= threshold,
                f"ours {prow['ours']:,.0f} vs theirs {prow['theirs']:,.0f} {prow['unit']}"
                f" = {prow['ratio']:.2f}x",
            )
        )

    goal = "projection at >= 70% of the raw Elasticsearch bulk rate for the same documents"
    prow = next((r for r in projection if r["ratio"] is not None), None)
    if prow is None:
        targets.append(Target("projection", goal, None, "not measured in this run"))
    else:
        targets.append(
            Target(
                "projection",
                goal,
                prow["ratio"] >= 0.7,
                f"{prow['events_per_s']:,.0f} events/s = {_pct(prow['ratio'])} of raw bulk",
            )
        )
    return targets


def verdict(target: Target) -> str:
    """The target's outcome as a sentence."""
    if target.met is None:
        return f"NOT MEASURED: {target.goal} ({target.measured})."
    word = "MET" if target.met else "MISSED"
    return f"{word}: {target.goal}; measured {target.measured}."
