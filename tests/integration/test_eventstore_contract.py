"""The event store port's contract, run against PostgreSQL.

The checks live in `tests/support/eventstore_contract.py` and run here once each against
`PostgresEventStore`; `tests/unit/test_memory_event_store_contract.py` runs the same checks
against the in-memory twin (`tests/support/memory_event_store.py`). A store that skips the
version check is planted below to prove the optimistic-concurrency check can fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from system.bootstrap import open_event_store
from system.config import Settings
from system.domain.recorded import Metadata
from system.eventstore.postgres import PostgresEventStore
from system.eventstore.schema import migrate
from system.ports import AppendResult, StreamAppend
from tests.support.eventstore_contract import (
    CHECKS,
    Check,
    at_their_heads,
    skipping_the_version_check_is_caught,
)

pytestmark = pytest.mark.integration


class LastWriterWins(PostgresEventStore):
    """A planted fault: appends at the stream's current version, whatever the caller expected."""

    async def append(
        self, streams: Sequence[StreamAppend], metadata: Metadata | None = None, **options: Any
    ) -> AppendResult:
        return await super().append(await at_their_heads(self, streams), metadata, **options)


@pytest.fixture(scope="module")
async def store() -> AsyncIterator[PostgresEventStore]:
    """A store of its own, migrated and open."""
    opened_store = await open_event_store(Settings.from_env(), min_size=1, max_size=10)
    await migrate(opened_store.pool)
    yield opened_store
    await opened_store.close()


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_the_event_store_keeps_its_contract(store: PostgresEventStore, check: Check) -> None:
    await check(store)


async def test_a_store_that_skips_the_version_check_fails_the_contract(
    event_store: PostgresEventStore,
) -> None:
    await skipping_the_version_check_is_caught(LastWriterWins(event_store.pool))
