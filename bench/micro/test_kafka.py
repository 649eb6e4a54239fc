"""Kafka ceilings: raw produce (idempotent, acks=all, like the relay) and consume of payloads."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.micro.harness import Runner
from bench.micro.streams import account_events
from bench.micro.suite import Suite
from system.config import Settings
from system.domain.codec import encode_event

TOPIC_PREFIX = "cqrs-bench-micro"


@pytest.fixture(scope="module")
def topic(runner: Runner, settings: Settings) -> Iterator[str]:
    name = f"{TOPIC_PREFIX}-{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [NewTopic(name, num_partitions=settings.kafka_partitions, replication_factor=1)]
            )
        finally:
            await admin.close()

    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([name])
        finally:
            await admin.close()

    runner.run(create())
    yield name
    runner.run(delete())


@pytest.fixture(scope="module")
def payloads(suite: Suite) -> list[tuple[bytes, bytes]]:
    rng = random.Random(suite.seed)
    events = account_events(suite.kafka.messages, rng)
    return [(f"account-{i % 100}".encode(), encode_event(e)) for i, e in enumerate(events)]


def test_kafka_raw_produce(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    suite: Suite,
    topic: str,
    payloads: list[tuple[bytes, bytes]],
) -> None:
    async def start() -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        await producer.start()
        return producer

    producer: AIOKafkaProducer = runner.run(start())

    async def produce() -> None:
        for key, value in payloads:
            await producer.send(topic, value, key=key)
        await producer.flush()

    try:
        runner.measure(
            benchmark,
            produce,
            rounds=suite.kafka.rounds,
            kind="kafka_produce",
            events=len(payloads),
        )
    finally:
        runner.run(producer.stop())


def test_kafka_raw_consume(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    suite: Suite,
    topic: str,
    payloads: list[tuple[bytes, bytes]],
) -> None:
    async def consume() -> int:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=settings.kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        seen = 0
        try:
            while seen < len(payloads):
                batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                seen += sum(len(records) for records in batch.values())
        finally:
            await consumer.stop()
        return seen

    seen = runner.measure(
        benchmark, consume, rounds=suite.kafka.rounds, kind="kafka_consume", events=len(payloads)
    )
    assert seen >= len(payloads)
