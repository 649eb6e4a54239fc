"""Peer appends: the sweep warms each level past PostgreSQL's freshly planned executions, its
table check counts that warm-up, and the plans our appends ran on are named by their mode."""

from __future__ import annotations

import asyncio

import pytest

from bench.micro.peer_drivers import (
    CUSTOM_PLANS_FIRST,
    PlanCounts,
    stored_by_sweep,
    sweep,
    sweep_warmup,
)

MADE: list[Counter] = []


class Counter:
    """A side that counts the operations it was asked to run, timed or not."""

    def __init__(self) -> None:
        self.level = 0
        self.runs: list[int] = []
        MADE.append(self)

    async def open(self, concurrency: int) -> None:
        self.level = concurrency

    async def run(self, count: int) -> None:
        self.runs.append(count)

    async def close(self) -> None:
        pass


def test_each_sweep_level_is_warmed_past_the_freshly_planned_executions_of_every_writer() -> None:
    MADE.clear()
    times = asyncio.run(sweep(Counter, [1, 2, 16], 64, 3))
    warmups = {side.level: side.runs[0] for side in MADE}
    assert warmups == {1: 64, 2: 64, 16: (CUSTOM_PLANS_FIRST + 1) * 16}
    assert all(warmups[level] >= (CUSTOM_PLANS_FIRST + 1) * level for level in warmups)
    assert {side.level: side.runs[1:] for side in MADE} == {
        level: [64, 64, 64] for level in (1, 2, 16)
    }
    assert [len(t) for t in times.values()] == [3, 3, 3]


def test_the_sweeps_table_check_counts_openings_warm_ups_and_rounds() -> None:
    MADE.clear()
    asyncio.run(sweep(Counter, [1, 4, 16], 64, 3))
    ran = sum(sum(side.runs) for side in MADE)
    assert stored_by_sweep([1, 4, 16], 64, 3, opening=0) == ran
    assert stored_by_sweep([1, 4, 16], 64, 3, opening=1) == ran + 1 + 4 + 16


def test_a_warm_up_is_at_least_a_rounds_work() -> None:
    assert sweep_warmup(16, 400) == 400
    assert sweep_warmup(16, 64) == 96


@pytest.mark.parametrize(
    ("generic", "custom", "mode"),
    [
        (1840, 80, "generic"),  # 16 connections, each planning afresh its first five
        (0, 1920, "custom"),  # no connection ever chose a generic plan
        (900, 1020, "mixed"),  # the choice flipped during the run (autovacuum's ANALYZE)
    ],
)
def test_the_plans_of_a_pools_appends_are_named_by_their_mode(
    generic: int, custom: int, mode: str
) -> None:
    assert PlanCounts(16, generic, custom).mode == mode
