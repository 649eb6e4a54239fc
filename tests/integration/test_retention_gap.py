"""Two projector instances of a new group meet a topic whose head was deleted: one rebuild.

The topic's first messages are deleted (`delete_records`, as retention would) before any
instance ran, so the group has no committed offset on partitions whose log start is > 0: a gap
(it never saw what was deleted). Both instances join at once (within the broker's initial
rebalance delay, so both own partitions with the gap): one rebuilds the read model from the
event store and swaps the alias, the other waits on the rebuild lock and only positions its
partitions. Neither reports Kafka down (no `NoOffsetForPartitionError` while positioning), and
every partition is consumed from its log start to the end. The test opens an account first, so
the rebuild has something to fold however empty the store it runs against.

The race that still rebuilt twice, pinned step by step: a waiter that read the alias after the
rebuilder's swap, on a partition the rebuilder did not own (so the group's offset there is
still below the log start), finds the rebuilt index's coverage record under the lock and does
not rebuild; with the record removed (the plant) it would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from confluent_kafka import TopicPartition as ConfluentPartition
from confluent_kafka.admin import AdminClient

from system.app.commands import CommandHandlers
from system.bootstrap import open_read_store
from system.bus.envelope import KIND_HEADER, KIND_WATERMARK, Watermark, encode, topic_for, topics
from system.bus.kafka import ensure_topics
from system.config import Settings
from system.domain import commands as c
from system.eventstore.postgres import PostgresEventStore
from system.projections import PROJECTIONS
from system.projections.retention import RetentionGuard
from system.projections.runner import ProjectorRunner, group_id
from system.readstore.coverage import covered_starts, partition_key
from system.readstore.elasticsearch import ElasticsearchReadStore
from tests.integration.eventstore_fixtures import new_id
from tests.integration.readside_fixtures import drop_read_side, isolated

pytestmark = pytest.mark.integration

NAME = "account_balance"
PARTITIONS = 3
MESSAGES = 6
DELETED = 4
"""Each partition's log starts here once its head is deleted."""
GROUP_GONE_S = 30.0
"""How long cleanup waits for the group's static members' sessions (10 s) to expire."""


async def _topic_with_deleted_head(settings: Settings, topic: str) -> None:
    await ensure_topics(settings.kafka_bootstrap, topics(settings.kafka_topic_prefix), PARTITIONS)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for p in range(PARTITIONS):
            for _ in range(MESSAGES):
                await producer.send_and_wait(
                    topic,
                    encode(Watermark(0)),
                    partition=p,
                    headers=[(KIND_HEADER, KIND_WATERMARK)],
                )
    finally:
        await producer.stop()
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    deleted = admin.delete_records(
        [ConfluentPartition(topic, p, DELETED) for p in range(PARTITIONS)]
    )
    for future in deleted.values():
        await asyncio.to_thread(future.result, 30)


async def _committed(settings: Settings, topic: str) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group_id(settings, NAME)
    )
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)}
    finally:
        await consumer.stop()


async def _assigned(
    settings: Settings, topic: str, partitions: Collection[int]
) -> AIOKafkaConsumer:
    """A started member of the projection's group owning `partitions` (manually assigned)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id(settings, NAME),
        enable_auto_commit=False,
    )
    await consumer.start()
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    return consumer


async def _own_topic(
    settings: Settings, event_store: PostgresEventStore, label: str
) -> tuple[Settings, str]:
    """Settings with their own indices and topics (after one event in the store), and the
    projection's topic under them."""
    await CommandHandlers(event_store, settings).handle(
        c.OpenAccount(account_id=new_id("acc"), owner_id=label)
    )
    own = isolated(settings, label, own_topics=True)
    return own, topic_for(PROJECTIONS[NAME].aggregate_type, own.kafka_topic_prefix)


@pytest.mark.timeout(300)
async def test_two_new_instances_past_a_deleted_head_rebuild_once_and_consume_the_rest(
    settings: Settings, event_store: PostgresEventStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    own, topic = await _own_topic(settings, event_store, "gap")
    stops = [asyncio.Event(), asyncio.Event()]
    try:
        await _topic_with_deleted_head(own, topic)
        runs = [
            asyncio.create_task(ProjectorRunner(own, [NAME], instance_id=f"gap-{k}").run(stop))
            for k, stop in enumerate(stops)
        ]
        async with asyncio.timeout(240):
            while await _committed(own, topic) != {p: MESSAGES for p in range(PARTITIONS)}:
                assert not any(run.done() for run in runs), [r.exception() for r in runs]
                await asyncio.sleep(0.5)
        for stop in stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*runs), 60)

        retention = [r.getMessage() for r in caplog.records if "retention" in r.name]
        rebuilt = [m for m in retention if ": rebuilt into " in m]
        gaps = {m.split(" on ")[1].split(":")[0] for m in retention if "retention gap on" in m}
        assert len(rebuilt) == 1, retention
        assert gaps == {f"{topic}[{p}]" for p in range(PARTITIONS)}, retention
        store = open_read_store(own)
        try:
            (index,) = await store.aliased_indices(NAME)
            assert rebuilt[0].split(": rebuilt into ")[1].startswith(f"{index} ")
            assert (await store.client.count(index=index))["count"] > 0
        finally:
            await store.close()
        assert not [
            r.getMessage() for r in caplog.records if "NoOffsetForPartition" in r.getMessage()
        ]
    finally:
        for stop in stops:
            stop.set()
        await drop_read_side(own, GROUP_GONE_S, own_topics=True)


@pytest.mark.timeout(300)
async def test_a_waiter_on_a_partition_the_rebuilder_did_not_own_finds_the_coverage_record(
    settings: Settings,
    event_store: PostgresEventStore,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    own, topic = await _own_topic(settings, event_store, "cover")
    p0, p1, p2 = (TopicPartition(topic, p) for p in range(PARTITIONS))
    store = open_read_store(own)
    consumers: list[AIOKafkaConsumer] = []
    try:
        await _topic_with_deleted_head(own, topic)
        await store.ensure([NAME])
        consumers.append(await _assigned(own, topic, [1, 2]))
        rebuilder = RetentionGuard(own, PROJECTIONS[NAME], consumers[-1], topic)
        await rebuilder._rebuild_once({p1: DELETED, p2: DELETED}, before=[])
        (swapped,) = await store.aliased_indices(NAME)
        assert not swapped.endswith("-0"), "the rebuilder did not rebuild"
        assert await covered_starts(store, NAME) == {
            partition_key(topic, p): DELETED for p in range(PARTITIONS)
        }, "the record covers every partition, owned or not"
        assert await _committed(own, topic) == {0: None, 1: DELETED, 2: DELETED}

        consumers.append(await _assigned(own, topic, [0]))
        waiter = RetentionGuard(own, PROJECTIONS[NAME], consumers[-1], topic)
        rebuilt: list[Mapping[TopicPartition, int]] = []

        async def rebuild(_: ElasticsearchReadStore, starts: Mapping[TopicPartition, int]) -> None:
            rebuilt.append(starts)

        monkeypatch.setattr(waiter, "_rebuild", rebuild)
        await waiter._rebuild_once({p0: DELETED}, before=[swapped])
        assert rebuilt == [], "the waiter rebuilt though the live index covers its gap"
        assert await store.aliased_indices(NAME) == [swapped]
        assert any("covers the gap" in r.getMessage() for r in caplog.records)

        # The plant: without the record, neither the alias nor the offsets settle it.
        await store.client.indices.put_mapping(index=swapped, meta={})
        assert await covered_starts(store, NAME) == {}
        await waiter._rebuild_once({p0: DELETED}, before=[swapped])
        assert len(rebuilt) == 1, "the check never failed: the test proves nothing"
    finally:
        for consumer in consumers:
            await consumer.stop()
        await store.close()
        await drop_read_side(own, GROUP_GONE_S, own_topics=True)
