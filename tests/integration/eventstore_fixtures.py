"""Fixtures for the event store tests: a migrated store on the real PostgreSQL, unique ids."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from system.bootstrap import open_event_store
from system.config import Settings
from system.domain.events import AccountOpened, MoneyDeposited
from system.eventstore.postgres import PostgresEventStore
from system.eventstore.schema import migrate
from system.ports import StreamAppend


def new_id(prefix: str = "es") -> str:
    return f"{prefix}-{uuid.uuid4()}"


def deposit(aggregate_id: str, expected: int, amount: int = 1) -> StreamAppend:
    """A one-deposit append to an account expected at version `expected`."""
    return StreamAppend(
        aggregate_id=aggregate_id,
        aggregate_type="BankAccount",
        expected_version=expected,
        events=[MoneyDeposited(amount=amount)],
    )


async def open_accounts(store: PostgresEventStore, count: int = 1) -> list[str]:
    """`count` new accounts (version 1 each), opened in one append."""
    accounts = [new_id("acc") for _ in range(count)]
    opened = [AccountOpened(owner_id="o")]
    await store.append(
        [
            StreamAppend(
                aggregate_id=a, aggregate_type="BankAccount", expected_version=0, events=opened
            )
            for a in accounts
        ]
    )
    return accounts


@pytest.fixture(scope="session")
async def event_store() -> AsyncIterator[PostgresEventStore]:
    """A migrated store on `Settings.from_env().pg_dsn`; fails loudly if PostgreSQL is down."""
    settings = Settings.from_env()
    dsn = settings.pg_dsn
    try:
        store = await open_event_store(settings, min_size=2, max_size=40)
    except (OSError, ConnectionError) as exc:
        pytest.fail(
            f"PostgreSQL at {dsn} is not reachable ({exc}); run `uv run cqrs-bench up` "
            "or point CQRS_PG_DSN at a running server.",
            pytrace=False,
        )
    await migrate(store.pool)
    yield store
    await store.close()
