"""Fixtures for the read-side tests: a relay and projectors on their own index prefix.

Each session gets a fresh prefix, hence fresh indices and consumer groups. Every prefix
`isolated` hands out (the session's and those tests make for themselves) is dropped at the
session's end (`drop_read_side`): its indices, its projections' consumer groups and, where it
has topics of its own, those, so that nothing piles up on a dev stack or on CI's. A relay runs
in-process only when no relay (e.g. the stack's) already holds the outbox lock: a standby
would never publish, and its lock polling need not outlive the session's last test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from system.app.commands import CommandHandlers
from system.bootstrap import open_read_store, serve_relay
from system.bus.envelope import topics
from system.bus.groups import SESSION_TIMEOUT_MS
from system.config import Settings
from system.eventstore.outbox import RELAY_LOCK
from system.eventstore.postgres import PostgresEventStore
from system.projections import PROJECTIONS
from system.projections.runner import group_id, run_projector
from system.readstore.elasticsearch import ElasticsearchReadStore

POSITION_TIMEOUT_S = 60.0


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


ISOLATED: list[tuple[Settings, bool]] = []
"""Every prefix `isolated` handed out in this session, and whether it has topics of its own,
for `drop_isolated`."""


def isolated(settings: Settings, label: str = "t", *, own_topics: bool = False) -> Settings:
    """The same services under a fresh index prefix (so fresh indices and consumer groups), and
    with `own_topics` fresh topics too; all dropped at the session's end."""
    own = dataclasses.replace(settings, es_index_prefix=f"{label}{uuid.uuid4().hex[:10]}")
    if own_topics:
        own = dataclasses.replace(own, kafka_topic_prefix=f"{own.es_index_prefix}-")
    ISOLATED.append((own, own_topics))
    return own


class Background:
    """A coroutine running until stopped; its failure surfaces when it is stopped."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self, coroutine: object) -> None:
        self.task = asyncio.ensure_future(coroutine)  # type: ignore[arg-type]

    async def close(self) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 30)


GROUPS_GONE_S = SESSION_TIMEOUT_MS / 1000 + 5
"""A stopped projector's static members hold their groups until their sessions expire."""


async def delete_groups(
    settings: Settings, groups: Sequence[str], within_s: float = GROUPS_GONE_S
) -> None:
    """Delete consumer groups (those never made are fine), waiting up to `within_s` for members
    still in their sessions to expire."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    left = list(groups)
    deadline = time.monotonic() + within_s
    while left:
        for group, future in admin.delete_consumer_groups(left).items():
            try:
                await asyncio.to_thread(future.result, 30)
            except KafkaException as exc:
                if exc.args[0].code() == KafkaError.NON_EMPTY_GROUP:
                    continue
                if exc.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                    raise
            left.remove(group)
        if left and time.monotonic() > deadline:
            raise AssertionError(f"consumer groups {left} still had members after {within_s:g} s")
        if left:
            await asyncio.sleep(1.0)


async def drop_read_side(
    settings: Settings, within_s: float = GROUPS_GONE_S, *, own_topics: bool = False
) -> None:
    """Delete `settings`' projections' consumer groups (once their members are gone, so that no
    projector writes again), every index under its prefix and, with `own_topics`, its topics."""
    await delete_groups(settings, [group_id(settings, name) for name in PROJECTIONS], within_s)
    store = open_read_store(settings)
    try:
        await store.client.indices.delete(index=f"{settings.es_index_prefix}-*")
    finally:
        await store.close()
    if not own_topics:
        return
    assert settings.kafka_topic_prefix, "an empty topic prefix names the stack's own topics"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    names = topics(settings.kafka_topic_prefix)
    for future in admin.delete_topics(names).values():
        try:
            await asyncio.to_thread(future.result, 30)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise


@pytest.fixture(scope="session", autouse=True)
async def drop_isolated() -> AsyncIterator[None]:
    """At the session's end, drop what every prefix `isolated` handed out left behind."""
    yield
    failures: list[str] = []
    while ISOLATED:
        own, own_topics = ISOLATED.pop()
        try:
            await drop_read_side(own, own_topics=own_topics)
        except Exception as exc:  # drop the others all the same, then say what was left
            failures.append(f"{own.es_index_prefix}: {exc!r}")
    assert not failures, "left behind: " + "; ".join(failures)


@pytest.fixture(scope="session")
def read_settings(settings: Settings) -> Settings:
    return isolated(settings)


async def _relay_leads(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND objid = $1::bigint::oid)",
                RELAY_LOCK,
            )
        )
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def relay(read_settings: Settings) -> AsyncIterator[None]:
    if await _relay_leads(read_settings.pg_dsn):
        yield
        return
    runner = Background()
    runner.start(serve_relay(read_settings, runner.stop))
    yield
    await runner.close()


@pytest.fixture(scope="session")
async def projector(read_settings: Settings, relay: None) -> AsyncIterator[None]:
    runner = Background()
    runner.start(run_projector(read_settings, None, runner.stop))
    yield
    await runner.close()


@pytest.fixture(scope="session")
async def read_store(read_settings: Settings) -> AsyncIterator[ElasticsearchReadStore]:
    store = open_read_store(read_settings)
    await store.ensure(PROJECTIONS)
    yield store
    await store.close()


@pytest.fixture(scope="session")
def commands(event_store: PostgresEventStore, read_settings: Settings) -> CommandHandlers:
    return CommandHandlers(event_store, read_settings)


async def caught_up(
    store: ElasticsearchReadStore, position: int, names: Sequence[str] = tuple(PROJECTIONS)
) -> None:
    """Fail unless every named projection reaches `position` in time."""
    reached = await store.wait_for_position(names, position, POSITION_TIMEOUT_S)
    assert reached, (
        f"projections {await store.projection_positions(names)} never reached {position}"
    )
