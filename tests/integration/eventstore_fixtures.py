"""Fixtures for the event store tests: a migrated store on the real PostgreSQL, unique ids."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from system.bootstrap import open_event_store
from system.config import Settings
from system.eventstore.postgres import PostgresEventStore
from system.eventstore.schema import migrate


def new_id(prefix: str = "es") -> str:
    return f"{prefix}-{uuid.uuid4()}"


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
