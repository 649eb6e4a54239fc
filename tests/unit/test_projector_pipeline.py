"""The projector's pipeline: merged batches keep offset order, checkpoints keep the latest."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from system.projections.pipeline import Checkpoints, Received, Receiver, SharedRefresh, merge
from system.resilience import Backoff, DependencyUnavailable


def test_merge_keeps_each_partition_in_offset_order() -> None:
    first = Received({"p0": [1, 2], "p1": [10]}, 1.0)
    second = Received({"p0": [3], "p2": [20]}, 2.0)
    assert merge([first, second]) == {"p0": [1, 2, 3], "p1": [10], "p2": [20]}


class Consumer:
    """Hands out prepared batches from `getmany`, then nothing."""

    def __init__(self, batches: list[dict[str, list[int]]]) -> None:
        self.batches = batches

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[str, list[int]]:
        await asyncio.sleep(0)
        return self.batches.pop(0) if self.batches else {}


async def _never(exc: Exception, delays: Backoff, stop: asyncio.Event) -> None:
    raise AssertionError(f"unexpected failure {exc}")


async def test_receiver_stamps_batches_as_they_arrive_and_take_drains_them() -> None:
    receiver = Receiver(Consumer([{"p0": [1]}, {"p0": [2]}, {}]), 100, _never)
    stop = asyncio.Event()
    task = asyncio.create_task(receiver.run(stop))
    await asyncio.sleep(0.05)
    taken = await receiver.take(0.5)
    stop.set()
    await task
    assert [r.batch for r in taken] == [{"p0": [1]}, {"p0": [2]}]
    assert taken[0].consumed_at <= taken[1].consumed_at
    assert await receiver.take(0.01) == []


class Trickle:
    """Hands out one prepared batch every `every_s`, then nothing."""

    def __init__(self, batches: list[dict[str, list[int]]], every_s: float) -> None:
        self.batches = batches
        self.every_s = every_s

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[str, list[int]]:
        await asyncio.sleep(self.every_s)
        return self.batches.pop(0) if self.batches else {}


async def test_a_gap_spaces_the_hand_overs_and_the_next_takes_what_arrived_in_it() -> None:
    receiver = Receiver(Trickle([{"p0": [n]} for n in range(6)], 0.01), 100, _never, gap_s=0.3)
    stop = asyncio.Event()
    task = asyncio.create_task(receiver.run(stop))
    first = await receiver.take(1.0)
    handed = time.monotonic()
    second = await receiver.take(1.0)
    waited = time.monotonic() - handed
    stop.set()
    await task
    assert [r.batch for r in first] == [{"p0": [0]}]
    assert waited >= 0.3
    assert [r.batch for r in second] == [{"p0": [n]} for n in range(1, 6)]


async def test_without_a_gap_each_batch_is_handed_over_as_it_arrives() -> None:
    receiver = Receiver(Trickle([{"p0": [n]} for n in range(3)], 0.02), 100, _never)
    stop = asyncio.Event()
    task = asyncio.create_task(receiver.run(stop))
    taken = [await receiver.take(1.0) for _ in range(3)]
    stop.set()
    await task
    assert [[r.batch for r in t] for t in taken] == [[{"p0": [n]}] for n in range(3)]


async def test_checkpoints_write_the_latest_offsets_and_position_and_retry_outages() -> None:
    commits: list[dict[Any, int]] = []
    saves: list[dict[Any, int]] = []
    failures: list[Exception] = []
    outage = {"left": 1}

    async def commit(offsets: dict[Any, int]) -> None:
        if outage["left"]:
            outage["left"] -= 1
            raise DependencyUnavailable("kafka", "down")
        commits.append(dict(offsets))

    async def save(watermarks: dict[Any, int]) -> None:
        saves.append(dict(watermarks))

    async def failed(exc: Exception, delays: Backoff, stop: asyncio.Event) -> None:
        failures.append(exc)

    checkpoints = Checkpoints(commit, save, failed)
    checkpoints.note({"p0": 5, "p1": 3}, {"p0": 40})
    checkpoints.note({"p0": 7}, {})
    stop = asyncio.Event()
    task = asyncio.create_task(checkpoints.run(stop))
    await asyncio.sleep(0.05)
    checkpoints.note({"p1": 9}, {"p0": 60, "p1": 2})
    await asyncio.sleep(0.05)
    stop.set()
    await task
    assert len(failures) == 1
    assert commits[0] == {"p0": 7, "p1": 3}
    assert commits[-1]["p1"] == 9
    assert saves[0] == {"p0": 40} and saves[-1] == {"p0": 60, "p1": 2}


async def test_a_failed_flush_keeps_what_was_noted() -> None:
    async def commit(offsets: dict[Any, int]) -> None:
        raise DependencyUnavailable("kafka", "down")

    async def save(watermarks: dict[Any, int]) -> None:
        raise AssertionError("no save before the commit succeeded")

    checkpoints = Checkpoints(commit, save, _never)
    checkpoints.note({"p0": 5}, {"p0": 10})
    with pytest.raises(DependencyUnavailable):
        await checkpoints.flush()
    seen: list[tuple[dict[Any, int], dict[Any, int]]] = []

    async def ok_commit(offsets: dict[Any, int]) -> None:
        seen.append((dict(offsets), {}))

    async def ok_save(watermarks: dict[Any, int]) -> None:
        seen.append(({}, dict(watermarks)))

    checkpoints._commit, checkpoints._save = ok_commit, ok_save
    await checkpoints.flush()
    assert seen == [({"p0": 5}, {}), ({}, {"p0": 10})]


async def test_shared_refresh_serves_concurrent_callers_with_one_request() -> None:
    requests: list[str] = []
    gate = asyncio.Event()

    async def refresh(indices: str) -> None:
        requests.append(indices)
        if len(requests) == 1:
            await gate.wait()

    shared = SharedRefresh(refresh)
    first = asyncio.create_task(shared("a"))
    await asyncio.sleep(0)
    later = [asyncio.create_task(shared(name)) for name in ("b", "c", "b")]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *later)
    assert requests == ["a", "b,c"]


async def test_a_refresh_gap_spaces_refreshes_and_callers_in_it_share_the_next() -> None:
    started: list[tuple[float, str]] = []

    async def refresh(indices: str) -> None:
        started.append((time.monotonic(), indices))

    shared = SharedRefresh(refresh, gap_s=0.2)
    await shared("a")
    second = asyncio.create_task(shared("b"))
    await asyncio.sleep(0.05)
    third = asyncio.create_task(shared("c"))
    await asyncio.gather(second, third)
    assert [indices for _, indices in started] == ["a", "b,c"]
    assert started[1][0] - started[0][0] >= 0.2


async def test_a_failed_shared_refresh_fails_every_caller_it_served() -> None:
    async def refresh(indices: str) -> None:
        await asyncio.sleep(0.01)
        raise DependencyUnavailable("elasticsearch", "down")

    shared = SharedRefresh(refresh)
    outcomes = await asyncio.gather(shared("a"), shared("b"), return_exceptions=True)
    assert all(isinstance(o, DependencyUnavailable) for o in outcomes)


async def test_watermarks_only_move_forward_and_revoked_partitions_are_forgotten() -> None:
    saved: list[dict[Any, int]] = []
    committed: list[dict[Any, int]] = []

    async def commit(offsets: dict[Any, int]) -> None:
        committed.append(dict(offsets))

    async def save(watermarks: dict[Any, int]) -> None:
        saved.append(dict(watermarks))

    checkpoints = Checkpoints(commit, save, _never)
    checkpoints.note({"p0": 5, "p1": 8}, {"p0": 40, "p1": 30})
    checkpoints.note({"p0": 3}, {"p0": 20})
    checkpoints.forget({"p1"})
    await checkpoints.flush()
    assert committed == [{"p0": 5}]
    assert saved == [{"p0": 40}]
