"""Query handlers: read models from the read store, time travel from the event store.

A query may carry the position a command returned (`min_position`): it is answered once every
read model it reads has reached that position, waiting at most `wait_ms`; otherwise the answer
is `StillProcessing`, never stale data presented as current.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from system.app.repository import Repository
from system.domain.account import BankAccount
from system.domain.errors import InvalidValue, NotFound
from system.ports import ReadModels
from system.resilience import DependencyUnavailable

MAX_WAIT_MS = 10_000
"""Longest a query may wait for its read models to catch up."""
MAX_WAITING = 64
"""Read-your-writes waits in progress at once; one more is refused (503, Retry-After)."""
WAIT_FIRST_S = 0.005
WAIT_CAP_S = 0.5
"""A wait checks once, then after 5 ms, doubling to 0.5 s: at most 27 checks in 10 s."""


@dataclass(frozen=True)
class Consistency:
    """Read-your-writes: answer only once the read models reached `min_position`."""

    min_position: int
    wait_ms: int = 0


@dataclass(frozen=True)
class StillProcessing:
    """The read models have not reached `min_position` within the allowed wait."""

    min_position: int


ORDER_VIEWS = ("order_status",)
CUSTOMER_VIEWS = ("customer_orders",)
INVENTORY_VIEWS = ("inventory",)
REVENUE_VIEWS = ("revenue",)
ACCOUNT_VIEWS = ("account_balance",)


class QueryHandlers:
    """Thin queries over the read models, each optionally bounded by a position."""

    def __init__(
        self, read_models: ReadModels, repository: Repository, max_waiting: int = MAX_WAITING
    ) -> None:
        self._read = read_models
        self._repository = repository
        self.max_waiting = max_waiting
        self.waiting = 0

    async def _caught_up(self, views: Sequence[str], consistency: Consistency | None) -> bool:
        """One check of the views' positions per interval, backing off, until `wait_ms`."""
        if consistency is None:
            return True
        position = consistency.min_position
        if await self._read.wait_for_position(views, position, 0):
            return True
        timeout_s = min(max(consistency.wait_ms, 0), MAX_WAIT_MS) / 1000
        if timeout_s <= 0:
            return False
        if self.waiting >= self.max_waiting:
            raise DependencyUnavailable(
                "overload", f"{self.max_waiting} read-your-writes waits already in progress"
            )
        self.waiting += 1
        try:
            deadline = time.monotonic() + timeout_s
            delay = WAIT_FIRST_S
            while (remaining := deadline - time.monotonic()) > 0:
                await asyncio.sleep(min(delay, remaining))
                delay = min(delay * 2, WAIT_CAP_S)
                if await self._read.wait_for_position(views, position, 0):
                    return True
            return False
        finally:
            self.waiting -= 1

    async def order(
        self, order_id: str, consistency: Consistency | None = None
    ) -> dict[str, Any] | StillProcessing | None:
        """The order status view, or None if the order is unknown."""
        if not await self._caught_up(ORDER_VIEWS, consistency):
            return _processing(consistency)
        return await self._read.get_order(order_id)

    async def customer_orders(
        self, customer_id: str, consistency: Consistency | None = None
    ) -> list[dict[str, Any]] | StillProcessing:
        """The customer's orders (with the customer's name)."""
        if not await self._caught_up(CUSTOMER_VIEWS, consistency):
            return _processing(consistency)
        return await self._read.customer_orders(customer_id)

    async def inventory(
        self, product_id: str, consistency: Consistency | None = None
    ) -> dict[str, Any] | StillProcessing | None:
        """A product's stock view, or None if the product is unknown."""
        if not await self._caught_up(INVENTORY_VIEWS, consistency):
            return _processing(consistency)
        return await self._read.get_inventory(product_id)

    async def revenue(
        self, start: date, end: date, consistency: Consistency | None = None
    ) -> list[dict[str, Any]] | StillProcessing:
        """Revenue per day in [start, end]."""
        if not await self._caught_up(REVENUE_VIEWS, consistency):
            return _processing(consistency)
        return await self._read.revenue(start, end)

    async def account(
        self, account_id: str, consistency: Consistency | None = None
    ) -> dict[str, Any] | StillProcessing | None:
        """The account balance view, or None if the account is unknown."""
        if not await self._caught_up(ACCOUNT_VIEWS, consistency):
            return _processing(consistency)
        return await self._read.get_account(account_id)

    async def account_history(
        self, account_id: str, *, version: int | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        """The account's state after `version` or as recorded at `at` (else now), from events."""
        account = await self._repository.load(
            BankAccount, account_id, until_version=version, until_time=at
        )
        if not account.exists:
            missing = NotFound(BankAccount.aggregate_type, account_id)
            if at is not None:
                missing.message = f"account {account_id!r} did not exist at {at.isoformat()}"
            raise missing
        if version is not None and account.version < version:
            raise InvalidValue(
                f"account {account_id!r} is at version {account.version};"
                f" version {version} does not exist",
                "version",
            )
        state = account.state
        return {
            "account_id": account_id,
            "version": account.version,
            "owner_id": state.owner_id,
            "balance": state.balance,
            "open": state.opened and not state.closed,
            "closed": state.closed,
            "reversed_versions": list(state.reversed_versions),
            "as_of": at.isoformat() if at is not None else None,
        }


def _processing(consistency: Consistency | None) -> StillProcessing:
    assert consistency is not None
    return StillProcessing(consistency.min_position)
