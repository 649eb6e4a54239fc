"""Retry on `ConcurrencyError`: off, or up to N attempts with full-jitter exponential backoff."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from system.domain.errors import ConcurrencyError
from system.metrics import COMMAND_ATTEMPTS, COMMAND_CONFLICTS

T = TypeVar("T")


class RetryPolicy:
    """How often a command that lost a race is re-run; counts its attempts and conflicts."""

    def __init__(
        self,
        attempts: int = 1,
        *,
        base_delay: float = 0.001,
        max_delay: float = 0.05,
        rng: random.Random | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.max_attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.rng = rng or random.Random()
        self.attempts = 0
        self.conflicts = 0

    @classmethod
    def off(cls) -> RetryPolicy:
        return cls(1)

    async def run(
        self,
        command: str,
        operation: Callable[[], Awaitable[T]],
        final: Callable[[ConcurrencyError], bool] = lambda _conflict: False,
    ) -> T:
        """Run `operation`, re-running it after a `ConcurrencyError` while attempts remain,
        unless `final` says a retry could only fail the same way."""
        attempt = 0
        while True:
            attempt += 1
            self.attempts += 1
            COMMAND_ATTEMPTS.labels(command).inc()
            try:
                return await operation()
            except ConcurrencyError as conflict:
                self.conflicts += 1
                COMMAND_CONFLICTS.labels(command).inc()
                if attempt >= self.max_attempts or final(conflict):
                    raise
            ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
            await asyncio.sleep(self.rng.uniform(0, ceiling))
