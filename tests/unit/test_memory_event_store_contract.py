"""The event store port's contract, run against the in-memory twin (`MemoryEventStore`).

The same checks as `tests/integration/test_eventstore_contract.py` runs against PostgreSQL
(`tests/support/eventstore_contract.py`), here on one store shared by the module, with the
same planted fault: a store that skips the version check must fail the OCC check.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from system.domain.recorded import Metadata
from system.ports import AppendResult, IdempotencyRecord, Snapshot, StreamAppend
from tests.support.eventstore_contract import (
    CHECKS,
    Check,
    at_their_heads,
    skipping_the_version_check_is_caught,
)
from tests.support.memory_event_store import MemoryEventStore


class LastWriterWins(MemoryEventStore):
    """A planted fault: appends at the stream's current version, whatever the caller expected."""

    async def append(
        self,
        streams: Sequence[StreamAppend],
        metadata: Metadata | None = None,
        *,
        snapshots: Sequence[Snapshot] = (),
        idempotency: IdempotencyRecord | None = None,
    ) -> AppendResult:
        return await super().append(
            await at_their_heads(self, streams),
            metadata,
            snapshots=snapshots,
            idempotency=idempotency,
        )


@pytest.fixture(scope="module")
def store() -> MemoryEventStore:
    return MemoryEventStore()


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_the_event_store_keeps_its_contract(store: MemoryEventStore, check: Check) -> None:
    await check(store)


async def test_a_store_that_skips_the_version_check_fails_the_contract() -> None:
    await skipping_the_version_check_is_caught(LastWriterWins())
