"""Riding out outages: our dependency error, capped exponential backoff, and retry bookkeeping.

Adapters turn a driver's "cannot reach it" errors into `DependencyUnavailable` at their boundary
(`system/eventstore/postgres.py`, `system/readstore/elasticsearch.py`, `system/bus/kafka.py`),
so the api maps one error to 503 and the relay and the projector retry one error, whatever the
driver. Bugs and refusals (a 4xx, a version gap) stay what they are and still fail loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client import Counter, Gauge

T = TypeVar("T")

DEPENDENCIES = ("postgres", "kafka", "elasticsearch")


class DependencyUnavailable(Exception):
    """A backing service (postgres, kafka, elasticsearch) could not be reached or timed out."""

    def __init__(self, dependency: str, detail: str) -> None:
        super().__init__(f"{dependency} unavailable: {detail}")
        self.dependency = dependency
        self.detail = detail


@dataclass
class Backoff:
    """Capped exponential delays: `initial`, doubled after each use, never above `cap`."""

    initial: float = 0.1
    cap: float = 5.0
    _next: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._next = self.initial

    def next(self) -> float:
        """The delay to wait now; the following one doubles (up to `cap`)."""
        delay = self._next
        self._next = min(self._next * 2, self.cap)
        return delay

    def reset(self) -> None:
        self._next = self.initial


class DependencyHealth:
    """One component's view of its dependencies: `*_dependency_up` gauges, retry counters, logs.

    A dependency counts as up until a call to it fails; the first failure of an outage logs a
    warning, each retry is counted, and the first success after it logs how long it lasted.
    """

    def __init__(self, component: str, up: Gauge, retries: Counter, log: logging.Logger) -> None:
        self.component = component
        self._up = up
        self._retries = retries
        self._log = log
        self._down_since: dict[str, float] = {}
        for dependency in DEPENDENCIES:
            up.labels(dependency).set(1)
            retries.labels(dependency)

    def failed(self, dependency: str, exc: BaseException, retry_in: float) -> None:
        """Record a failed call to `dependency` that will be retried in `retry_in` seconds."""
        self._retries.labels(dependency).inc()
        if dependency not in self._down_since:
            self._down_since[dependency] = time.monotonic()
            self._up.labels(dependency).set(0)
            self._log.warning(
                "%s: %s is unavailable (%s); retrying with backoff", self.component, dependency, exc
            )
        else:
            self._log.info(
                "%s: %s still unavailable (%s); next try in %.1fs",
                self.component,
                dependency,
                exc,
                retry_in,
            )

    def ok(self, dependency: str) -> None:
        """Record a successful call to `dependency`."""
        since = self._down_since.pop(dependency, None)
        if since is not None:
            self._up.labels(dependency).set(1)
            self._log.warning(
                "%s: %s is back after %.1fs", self.component, dependency, time.monotonic() - since
            )


async def sleep_or_stop(stop: asyncio.Event | None, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()


async def retry_unavailable(
    call: Callable[[], Awaitable[T]],
    health: DependencyHealth,
    *,
    stop: asyncio.Event | None = None,
    backoff: Backoff | None = None,
) -> T | None:
    """Await `call()` until it no longer raises `DependencyUnavailable`; None if `stop` is set
    while it does (the call is tried at least once, even after `stop`).

    Any other error propagates: only an unreachable dependency is waited for.
    """
    delays = backoff or Backoff()
    failed: set[str] = set()
    while True:
        try:
            result = await call()
        except DependencyUnavailable as exc:
            if stop is not None and stop.is_set():
                return None
            delay = delays.next()
            failed.add(exc.dependency)
            health.failed(exc.dependency, exc, delay)
            await sleep_or_stop(stop, delay)
            continue
        for dependency in failed:
            health.ok(dependency)
        return result
