"""A rebuild's catch-up round ends at its mark even while live traffic outpaces it.

The rebuilder is slowed to one event per read and 20 reads a second, well below the traffic's
40 commands a second: a round that read on until an empty read (the code before) never ends,
and one bounded by its mark ends once it has read the head it took.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import pytest

from system.app.commands import CommandHandlers
from system.config import Settings
from system.domain.recorded import RecordedEvent
from system.eventstore.postgres import PostgresEventStore
from system.ports import EventStore
from system.projections import PROJECTIONS
from system.projections.rebuild import Rebuilder
from system.readstore.elasticsearch import ElasticsearchReadStore
from tests.integration.readside_workload import Workload

pytestmark = pytest.mark.integration

FOLD_PAUSE_S = 0.05


class Heads:
    """The real event store, noting each head position it reports."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store
        self.heads: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def head_position(self) -> int:
        head = await self.store.head_position()
        self.heads.append(head)
        return head


class SlowRebuilder(Rebuilder):
    """Folds as the real one does, then pauses: slower than the traffic."""

    async def _apply(self, batch: Sequence[RecordedEvent]) -> int:
        applied = await super()._apply(batch)
        await asyncio.sleep(FOLD_PAUSE_S)
        return applied


async def test_a_catch_up_round_ends_at_its_mark_under_traffic_faster_than_it_folds(
    read_settings: Settings,
    commands: CommandHandlers,
    read_store: ElasticsearchReadStore,
    event_store: PostgresEventStore,
) -> None:
    name = "order_status"
    index = await read_store.create_index(name)
    events = Heads(event_store)
    rebuilder = SlowRebuilder(cast(EventStore, events), read_store, PROJECTIONS[name], index, 1)
    # From the head on: the workload's aggregates are all born after it.
    start = rebuilder.cursor = await event_store.head_position()
    workload = Workload(commands, lanes=10, seed=31)
    await workload.setup()
    enough = asyncio.Event()
    traffic = asyncio.create_task(workload.run(10**6, rate_per_s=40, stop=enough))
    try:
        await asyncio.sleep(2)  # a backlog of about 80 commands
        before = await event_store.head_position()
        async with asyncio.timeout(60):
            applied = await rebuilder.catch_up()
        after = await event_store.head_position()
        assert not traffic.done()
        (head,) = events.heads  # the head the round took, once every older transaction ended
        assert rebuilder.cursor == head  # one event a read: it stopped right there
        order = [e.position for e in await event_store.read_all(start, 100_000)]
        # That head is at or past the one before the round began, and short of the live head.
        assert order.index(before) <= order.index(head) < order.index(after)
        assert applied > 0 and rebuilder.applied == applied
    finally:
        enough.set()
        await traffic
        await read_store.delete_index(index)
