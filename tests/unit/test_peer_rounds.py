"""Peer comparisons: rounds alternate between the sides, and the ratio is taken per round pair."""

from __future__ import annotations

import asyncio

import pytest

from bench.micro.peer_drivers import Rotation, best_level
from bench.micro.sections.peers import paired_ratio_interval, rows
from bench.report.results import Results

RUNS: list[str] = []


class Recorder:
    """A side that only records when it ran."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.opened_at = 0

    async def open(self, concurrency: int) -> None:
        self.opened_at = concurrency

    async def run(self, count: int) -> None:
        RUNS.append(self.name)

    async def close(self) -> None:
        RUNS.append(f"close {self.name}")


def test_rounds_alternate_ab_ba_after_an_untimed_warm_up_of_each() -> None:
    RUNS.clear()
    rotation = Rotation([(Recorder("a"), 16), (Recorder("b"), 4)], 10)

    async def go() -> None:
        await rotation.open()
        for _ in range(3):
            await rotation.round()
        await rotation.close()

    asyncio.run(go())
    assert RUNS == ["a", "b", "a", "b", "b", "a", "a", "b", "close a", "close b"]
    assert [len(s) for s in rotation.seconds] == [3, 3]


def test_the_best_level_is_the_fastest_median_round() -> None:
    assert best_level({1: [2.0, 2.1, 1.9], 4: [0.8, 5.0, 0.9], 16: [1.0, 1.1, 1.2]}) == 4


def test_a_drift_that_slows_both_sides_alike_leaves_the_paired_ratio_alone() -> None:
    # ours is 2x faster in every round pair, but the machine slows down 3x halfway through
    drift = [1.0] * 5 + [3.0] * 6
    ours = [0.1 * d for d in drift]
    theirs = [0.2 * d for d in drift]
    ours[2], theirs[8] = 0.3, 0.2  # one slow round of ours, one quick round of theirs
    r = paired_ratio_interval(ours, theirs)
    assert r.value == pytest.approx(2.0)
    assert r.low <= 2.0 <= r.high
    assert r.relative_halfwidth < 0.25


def test_unpaired_rounds_are_refused() -> None:
    with pytest.raises(ValueError, match="as many rounds"):
        paired_ratio_interval([0.1, 0.2], [0.1])


def test_a_comparison_gives_a_same_and_a_best_row_that_follow_the_schema() -> None:
    same = {
        "concurrency": 16,
        "ours_concurrency": 16,
        "theirs_concurrency": 16,
        "ours_seconds": [0.1, 0.11, 0.12],
        "theirs_seconds": [0.4, 0.5, 0.45],
    }
    best = {**same, "concurrency": "best", "theirs_concurrency": 4}
    sweep = [{"concurrency": c, "seconds": [0.2, 0.3]} for c in (1, 4, 16)]
    bench = {
        "extra_info": {
            "kind": "peer_pair",
            "peer": "eventsourcing",
            "workload": "append",
            "unit": "commands/s",
            "events": 160,
            "matchups": [same, best],
            "sweep_events": 64,
            "sweep": {"ours": sweep, "theirs": sweep},
        }
    }
    results = Results.new("tiny", {})
    for row in rows(bench):
        results.add("peers", row)
    same_row, best_row = results.rows("peers")
    assert same_row["ours"] == pytest.approx(160 / 0.11)
    assert same_row["theirs"] == pytest.approx(160 / 0.45)
    assert same_row["ours_low"] <= same_row["ours"] <= same_row["ours_high"]
    assert "ours_sweep" not in same_row
    assert (best_row["ours_concurrency"], best_row["theirs_concurrency"]) == (16, 4)
    assert [s["concurrency"] for s in best_row["theirs_sweep"]] == [1, 4, 16]


def test_append_rows_say_which_plans_ours_ran_on_and_the_schema_holds_them() -> None:
    matchup = {
        "concurrency": 16,
        "ours_concurrency": 16,
        "theirs_concurrency": 16,
        "ours_seconds": [0.1, 0.11],
        "theirs_seconds": [0.2, 0.21],
    }
    plans = {"16": {"mode": "custom", "connections": 16, "generic": 0, "custom": 1920}}
    bench = {
        "extra_info": {
            "kind": "peer_pair",
            "peer": "message-db",
            "workload": "append",
            "unit": "events/s",
            "events": 160,
            "matchups": [matchup],
            "ours_plans": plans,
        }
    }
    results = Results.new("tiny", {})
    (row,) = rows(bench)
    results.add("peers", row)
    assert row["ours_plans"] == "custom"
    replay = {**bench, "extra_info": {**bench["extra_info"], "workload": "replay"}}
    del replay["extra_info"]["ours_plans"]
    assert "ours_plans" not in rows(replay)[0]
    with pytest.raises(ValueError, match="ours_plans"):
        Results.new("tiny", {}).add("peers", {**row, "ours_plans": "sometimes"})
