"""Multi-stream appends that share streams queue on each other instead of deadlocking.

The oracle is PostgreSQL's own deadlock counter (`pg_stat_database.deadlocks`), not our code.
With the sort in `PostgresEventStore.append` removed, this test failed with 46 deadlocks in
47 s (each costs `deadlock_timeout`, 1 s), against 2 s with the sort; every round still had one
winner, because `translating_append_errors` turns a deadlock into a conflict.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from system.domain.errors import ConcurrencyError
from system.eventstore.postgres import PostgresEventStore
from tests.integration.eventstore_fixtures import deposit, open_accounts

pytestmark = pytest.mark.integration

WRITERS = 16
ROUNDS = 40
STREAMS = 4


async def deadlocks(store: PostgresEventStore) -> int:
    # The statistics collector publishes counters when a backend's transaction ends, and a
    # snapshot is cached per transaction: read a fresh one outside any transaction.
    async with store.connection() as conn:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        count: int = await conn.fetchval(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        )
        return count


async def test_appends_to_shared_streams_in_any_order_never_deadlock(
    event_store: PostgresEventStore,
) -> None:
    accounts = await open_accounts(event_store, STREAMS)
    before = await deadlocks(event_store)
    rng = random.Random(14)
    for round_ in range(ROUNDS):
        expected = round_ + 1
        orders = [rng.sample(accounts, STREAMS) for _ in range(WRITERS)]
        outcomes = await asyncio.gather(
            *(event_store.append([deposit(a, expected) for a in order]) for order in orders),
            return_exceptions=True,
        )
        unexpected = [
            o
            for o in outcomes
            if isinstance(o, BaseException) and not isinstance(o, ConcurrencyError)
        ]
        assert unexpected == []
        winners = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(winners) == 1, f"round {round_}: {len(winners)} appends won"
    await asyncio.sleep(0.6)  # counters reach the collector up to 500 ms after a backend's txn
    assert await deadlocks(event_store) - before == 0
    for account in accounts:
        assert [e.version for e in await event_store.load(account)] == list(range(1, ROUNDS + 2))
