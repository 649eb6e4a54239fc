from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from system.config import Settings

pytestmark = pytest.mark.integration

MESSAGES = 1_000
KEYS = 37


async def partitions_of(admin: AIOKafkaAdminClient, topic: str, timeout_s: float = 10.0) -> int:
    """The topic's partition count once its metadata has propagated (KRaft is asynchronous)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        partitions = (await admin.describe_topics([topic]))[0]["partitions"]
        if partitions or asyncio.get_running_loop().time() > deadline:
            return len(partitions)
        await asyncio.sleep(0.1)


async def test_keyed_messages_come_back_in_per_key_order(settings: Settings) -> None:
    topic = f"stack-test-{uuid.uuid4().hex}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        assert await partitions_of(admin, topic) == 3
    finally:
        await admin.close()

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        batch = [
            producer.send(topic, value=str(i).encode(), key=f"key-{i % KEYS}".encode())
            for i in range(MESSAGES)
        ]
        metadata = await asyncio.gather(*[await f for f in batch])
    finally:
        await producer.stop()
    assert {m.partition for m in metadata} == {0, 1, 2}

    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: dict[str, list[int]] = defaultdict(list)
    count = 0
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(3)])
        async with asyncio.timeout(60):
            while count < MESSAGES:
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    for record in records:
                        assert record.key is not None and record.value is not None
                        received[record.key.decode()].append(int(record.value))
                        count += 1
    finally:
        await consumer.stop()
        cleaner = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await cleaner.start()
        try:
            await cleaner.delete_topics([topic])
        finally:
            await cleaner.close()

    assert count == MESSAGES
    for k in range(KEYS):
        expected = [i for i in range(MESSAGES) if i % KEYS == k]
        assert received[f"key-{k}"] == expected
