"""Two projector instances of a new group meet a topic whose head was deleted: one rebuild.

The topic's first messages are deleted (`delete_records`, as retention would) before any
instance ran, so the group has no committed offset on partitions whose log start is > 0: a gap
(it never saw what was deleted). Both instances join at once (within the broker's initial
rebalance delay, so both own partitions with the gap): one rebuilds the read model from the
event store and swaps the alias, the other waits on the rebuild lock and only positions its
partitions. Neither reports Kafka down (no `NoOffsetForPartitionError` while positioning), and
every partition is consumed from its log start to the end. The test opens an account first, so
the rebuild has something to fold however empty the store it runs against.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
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
from system.projections.runner import ProjectorRunner, group_id
from tests.integration.eventstore_fixtures import new_id
from tests.integration.readside_fixtures import isolated

pytestmark = pytest.mark.integration

NAME = "account_balance"
PARTITIONS = 3
MESSAGES = 6
DELETED = 4
"""Each partition's log starts here once its head is deleted."""


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


async def _cleanup(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(topics(settings.kafka_topic_prefix))
    finally:
        await admin.close()
    store = open_read_store(settings)
    try:
        await store.client.indices.delete(index=f"{settings.es_index_prefix}-*")
    finally:
        await store.close()


@pytest.mark.timeout(300)
async def test_two_new_instances_past_a_deleted_head_rebuild_once_and_consume_the_rest(
    settings: Settings, event_store: PostgresEventStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await CommandHandlers(event_store, settings).handle(
        c.OpenAccount(account_id=new_id("acc"), owner_id="gap")
    )
    own = isolated(settings, "gap")
    own = dataclasses.replace(own, kafka_topic_prefix=f"{own.es_index_prefix}-")
    topic = topic_for(PROJECTIONS[NAME].aggregate_type, own.kafka_topic_prefix)
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
        await _cleanup(own)
