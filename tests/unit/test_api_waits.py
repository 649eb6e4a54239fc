"""Read-your-writes waits are bounded: a check per backing-off interval, and a cap on how many
wait at once (503 beyond it)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from system.app.queries import MAX_WAIT_MS, Consistency, QueryHandlers, StillProcessing
from system.resilience import DependencyUnavailable


class Lagging:
    """A read side stuck below every position; counts the checks it is asked for."""

    def __init__(self) -> None:
        self.checks = 0

    async def wait_for_position(
        self, names: Sequence[str], min_position: int, timeout_s: float
    ) -> bool:
        assert timeout_s == 0  # one cheap check, never a wait inside the read store
        self.checks += 1
        return False

    async def get_order(self, order_id: str) -> dict[str, Any] | None:
        return {"order_id": order_id}


def _handlers(read: Lagging, max_waiting: int = 64) -> QueryHandlers:
    return QueryHandlers(read, repository=None, max_waiting=max_waiting)  # type: ignore[arg-type]


async def test_a_wait_checks_once_per_backing_off_interval() -> None:
    read = Lagging()
    answer = await _handlers(read).order("o", Consistency(10, wait_ms=300))
    assert answer == StillProcessing(10)
    # 5, 10, 20, 40, 80, 160 ms: 6 intervals (and the first check) in 300 ms, not ~100 polls
    assert 4 <= read.checks <= 9, read.checks


async def test_no_wait_means_one_check() -> None:
    read = Lagging()
    assert await _handlers(read).order("o", Consistency(10)) == StillProcessing(10)
    assert read.checks == 1


async def test_beyond_the_cap_a_wait_is_refused_as_overload() -> None:
    read = Lagging()
    handlers = _handlers(read, max_waiting=2)
    waiting = [asyncio.create_task(handlers.order("o", Consistency(1, 200))) for _ in range(2)]
    await asyncio.sleep(0.02)
    assert handlers.waiting == 2
    with pytest.raises(DependencyUnavailable) as refused:
        await handlers.order("o", Consistency(1, 200))
    assert refused.value.dependency == "overload"
    assert await asyncio.gather(*waiting) == [StillProcessing(1)] * 2
    assert handlers.waiting == 0
    assert MAX_WAIT_MS == 10_000
