"""`Runner.measure` meters each round's CPU outside the timed operation: ours' rounds between
the readings that bracket them, each paired ceiling's around its own work, warm-up left out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bench.micro.harness import Runner


class FakeBenchmark:
    """pytest-benchmark's `pedantic`, as it calls setup and the target, without its timer."""

    def __init__(self) -> None:
        self.extra_info: dict[str, Any] = {}
        self.group = "append"
        self.fullname = "bench/micro/test_append.py::test_append"

    def pedantic(
        self,
        target: Callable[[], Any],
        *,
        setup: Callable[[], None] | None,
        rounds: int,
        iterations: int,
        warmup_rounds: int,
    ) -> Any:
        assert iterations == 1
        result = None
        for _ in range(warmup_rounds + rounds):
            if setup is not None:
                setup()
            result = target()
        return result


def test_each_round_s_cpu_is_kept_for_ours_and_for_the_paired_ceiling() -> None:
    spent = {1: 0.0, 2: 0.0}  # two processes' CPU so far
    costs = iter(range(1, 100))  # each piece of work costs more than the last

    def burn(pid: int) -> None:
        spent[pid] += next(costs)

    async def ours() -> None:
        burn(1)
        burn(2)

    async def raw() -> None:
        burn(2)

    loop = asyncio.new_event_loop()
    try:
        benchmark = FakeBenchmark()
        Runner(loop).measure(
            benchmark,
            ours,
            rounds=3,
            warmup_rounds=1,
            ceilings=[("append_raw", raw)],
            cpu=lambda: dict(spent),
        )
    finally:
        loop.close()
    # costs in order: raw 1, ours 2+3 (warm-up); raw 4, ours 5+6; raw 7, ours 8+9; raw 10, ...
    assert benchmark.extra_info["cpu_seconds"] == [11, 17, 23]
    (paired,) = benchmark.extra_info["paired"]
    assert paired["kind"] == "append_raw"
    assert paired["cpu_seconds"] == [4, 7, 10]
    assert len(paired["seconds"]) == 3


def test_without_a_meter_nothing_is_metered() -> None:
    async def nothing() -> None:
        return None

    loop = asyncio.new_event_loop()
    try:
        benchmark = FakeBenchmark()
        Runner(loop).measure(benchmark, nothing, rounds=2, ceilings=[("append_raw", nothing)])
    finally:
        loop.close()
    assert "cpu_seconds" not in benchmark.extra_info
    assert "cpu_seconds" not in benchmark.extra_info["paired"][0]
