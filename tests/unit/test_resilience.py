"""Capped backoff, retrying only unavailability, and the dependency gauges and counters."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge

from system.resilience import Backoff, DependencyHealth, DependencyUnavailable, retry_unavailable


def _health() -> tuple[DependencyHealth, Gauge, Counter]:
    registry = CollectorRegistry()
    up = Gauge("t_dependency_up", "up", ["dependency"], registry=registry)
    retries = Counter("t_retries_total", "retries", ["dependency"], registry=registry)
    return DependencyHealth("test", up, retries, logging.getLogger("t")), up, retries


def test_backoff_doubles_from_its_start_to_its_cap_and_resets() -> None:
    delays = Backoff(0.1, 0.5)
    assert [delays.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    delays.reset()
    assert delays.next() == 0.1


async def test_unavailability_is_retried_counted_and_shown_until_the_call_succeeds() -> None:
    health, up, retries = _health()
    calls = 0
    seen_down: list[float] = []

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            if calls > 1:
                seen_down.append(up.labels("kafka")._value.get())
            raise DependencyUnavailable("kafka", "refused")
        return "done"

    result = await retry_unavailable(flaky, health, backoff=Backoff(0.001, 0.002))
    assert result == "done"
    assert calls == 4
    assert seen_down == [0.0, 0.0]
    assert up.labels("kafka")._value.get() == 1.0
    assert retries.labels("kafka")._value.get() == 3.0
    assert retries.labels("postgres")._value.get() == 0.0


async def test_other_errors_are_not_retried() -> None:
    health, _, retries = _health()

    async def broken() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        await retry_unavailable(broken, health)
    assert retries.labels("kafka")._value.get() == 0.0


async def test_a_stop_cuts_the_backoff_short_and_ends_the_wait_with_none() -> None:
    health, up, _ = _health()
    stop = asyncio.Event()
    calls = 0

    async def down() -> int:
        nonlocal calls
        calls += 1
        raise DependencyUnavailable("elasticsearch", "timed out")

    asyncio.get_running_loop().call_later(0.05, stop.set)
    async with asyncio.timeout(5):
        result = await retry_unavailable(down, health, stop=stop, backoff=Backoff(60.0, 60.0))
    assert result is None
    assert calls == 2  # the try after the interrupted sleep, then no more
    assert up.labels("elasticsearch")._value.get() == 0.0
