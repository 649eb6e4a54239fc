"""A rebuild's catch-up round ends at its mark even while live traffic outpaces it.

The rebuilder is slowed to one event per read and 20 reads a second, well below the traffic's
40 commands a second: a round that read on until an empty read (the code before) never ends,
and one bounded by its mark ends once it has read the head it took.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from system.app.commands import CommandHandlers
from system.config import Settings
from system.domain.recorded import RecordedEvent
from system.eventstore.postgres import PostgresEventStore
from system.projections import PROJECTIONS
from system.projections.rebuild import Rebuilder
from system.readstore.elasticsearch import ElasticsearchReadStore
from tests.integration.readside_workload import Workload

pytestmark = pytest.mark.integration

FOLD_PAUSE_S = 0.05


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
    rebuilder = SlowRebuilder(event_store, read_store, PROJECTIONS[name], index, batch=1)
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
        order = [e.position for e in await event_store.read_all(start, 100_000)]
        # It read at least up to the head before it began, and stopped before the live head.
        assert order.index(before) <= order.index(rebuilder.cursor) <= order.index(after)
        assert applied > 0 and rebuilder.applied == applied
    finally:
        enough.set()
        await traffic
        await read_store.delete_index(index)
