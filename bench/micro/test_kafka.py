"""Kafka ceilings doing the relay's and the projector's work without them.

Produce: confluent-kafka with the relay's producer settings (`producer_config`), the relay's
messages (envelopes of recorded domain events, key = aggregate id, headers `kind` and
`committed_at`), acks awaited per relay batch. Consume: the projector's consumer
(`assigned_consumer`, a fresh group from the earliest offset) taking at most a projector batch
per `getmany`, without decoding.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from bench.micro.bus import (
    PROJECTOR_BATCH,
    RELAY_BATCH,
    RawProducer,
    account_streams,
    delete_topics,
    event_message,
    mean_bytes,
    recorded,
    topic_size,
)
from bench.micro.harness import RUN_TAG, Runner
from bench.micro.suite import Suite
from system.bus.kafka import Outgoing, assigned_consumer, ensure_topics
from system.config import Settings

TOPIC_PREFIX = f"cqrs-bench-micro-{RUN_TAG}"


@pytest.fixture(scope="module")
def topic(runner: Runner, settings: Settings) -> Iterator[tuple[str, list[int]]]:
    """A scratch topic with the stack's partition count, and its partitions; deleted after."""
    name = f"{TOPIC_PREFIX}-{uuid.uuid4().hex[:8]}-account-events"
    found = runner.run(ensure_topics(settings.kafka_bootstrap, [name], settings.kafka_partitions))
    yield name, found[name]
    runner.run(delete_topics(settings.kafka_bootstrap, [name]))


@pytest.fixture(scope="module")
def messages(suite: Suite, topic: tuple[str, list[int]]) -> list[Outgoing]:
    rng = random.Random(suite.seed)
    events = recorded(account_streams(suite.kafka.messages, rng), rng)
    now = time.time()
    return [event_message(e, topic[0], now) for e in events]


def test_kafka_raw_produce(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    suite: Suite,
    topic: tuple[str, list[int]],
    messages: list[Outgoing],
) -> None:
    producer = RawProducer(settings.kafka_bootstrap)
    produced = {"rounds": 0}

    async def produce() -> None:
        await producer.produce(messages)
        produced["rounds"] += 1

    runner.measure(
        benchmark,
        produce,
        rounds=suite.kafka.rounds,
        warmup_rounds=1,
        kind="kafka_produce",
        events=len(messages),
        message_bytes=mean_bytes([m.value for m in messages]),
        headers=len(messages[0].headers),
        batch=RELAY_BATCH,
        settings=producer.describe(),
    )
    assert not producer.errors
    held = runner.run(topic_size(settings.kafka_bootstrap, *topic))
    assert held == produced["rounds"] * len(messages) == (suite.kafka.rounds + 1) * len(messages)


def test_kafka_raw_consume(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    suite: Suite,
    topic: tuple[str, list[int]],
    messages: list[Outgoing],
) -> None:
    name, partitions = topic
    consumers: list[AIOKafkaConsumer] = []

    async def fresh_consumer() -> None:
        for old in consumers:
            await old.stop()
        consumer = await assigned_consumer(
            settings.kafka_bootstrap, f"{name}-{uuid.uuid4().hex[:8]}", name, partitions
        )
        for tp in consumer.assignment():
            await consumer.position(tp)  # resolved, as in a running projector
        consumers[:] = [consumer]

    async def consume() -> int:
        seen = 0
        while seen < len(messages):
            batch = await consumers[0].getmany(timeout_ms=200, max_records=PROJECTOR_BATCH)
            seen += sum(len(records) for records in batch.values())
        return seen

    try:
        seen = runner.measure(
            benchmark,
            consume,
            setup=fresh_consumer,
            rounds=suite.kafka.rounds,
            kind="kafka_consume",
            events=len(messages),
            message_bytes=mean_bytes([m.value for m in messages]),
            batch=PROJECTOR_BATCH,
        )
    finally:
        for consumer in consumers:
            runner.run(consumer.stop())
    assert seen >= len(messages)
