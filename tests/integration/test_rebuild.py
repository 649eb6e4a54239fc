"""Rebuild while commands keep arriving: the swapped-in index equals a replay, doc for doc.

Compared: every doc's source and its `_version` (the aggregate version). Nothing is excluded:
read-model timestamps are the events' record times, not processing times, so a rebuild must
reproduce them exactly. Docs whose latest event came after the compared head are left out:
other sessions may keep writing to the same event store.
"""

from __future__ import annotations

import asyncio

import pytest

from system.app.commands import CommandHandlers
from system.config import Settings
from system.eventstore.postgres import PostgresEventStore
from system.projections import PROJECTIONS
from system.projections.rebuild import rebuild
from system.readstore.elasticsearch import Doc, ElasticsearchReadStore
from tests.integration.readside_fixtures import caught_up
from tests.integration.readside_workload import Workload, mismatches

pytestmark = pytest.mark.integration


async def test_rebuilding_under_40_commands_per_second_yields_the_live_index(
    read_settings: Settings,
    commands: CommandHandlers,
    read_store: ElasticsearchReadStore,
    event_store: PostgresEventStore,
    projector: None,
) -> None:
    workload = Workload(commands, lanes=10, seed=23)
    await workload.setup()
    await caught_up(read_store, workload.last_position)
    enough = asyncio.Event()
    traffic = asyncio.create_task(workload.run(10**6, rate_per_s=40, stop=enough))
    left: list[str] = []  # indices not behind an alias, dropped at the end
    try:
        swapped = {}
        for name in PROJECTIONS:
            report = await rebuild(read_settings, name)
            left += report.replaced
            assert report.replaced and report.index not in report.replaced
            swapped[name] = report.index
        assert not traffic.done()
        enough.set()
        await traffic
        head: int = await event_store.pool.fetchval("SELECT max(position) FROM events")
        await caught_up(read_store, head)

        for name, index in swapped.items():
            assert await read_store.aliased_indices(name) == [index]
            replay = await rebuild(read_settings, name, swap=False)
            left.append(replay.index)
            rebuilt = await read_store.snapshot(replay.index)
            live = await read_store.snapshot(read_store.alias(name))
            assert unexplained(live, rebuilt, head) == [], name
            assert mismatches(workload.expected()[name], live) == [], name
    finally:
        enough.set()
        for index in left:
            await read_store.delete_index(index)


def unexplained(live: dict[str, Doc], rebuilt: dict[str, Doc], head: int) -> list[str]:
    """Doc ids that differ, other than by events after `head` (other sessions keep writing)."""
    differ = []
    for doc_id in live.keys() | rebuilt.keys():
        a, b = live.get(doc_id), rebuilt.get(doc_id)
        if a == b:
            continue
        if max(d["position"] for d in (a, b) if d is not None) > head:
            continue
        differ.append(f"{doc_id}: live={a} rebuilt={b}")
    return differ[:10]
