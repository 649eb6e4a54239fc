"""Kafka ceilings doing the relay's and the projector's work without them.

Produce: confluent-kafka with the relay's producer settings (`producer_config`), the relay's
messages (envelopes of recorded domain events, key = aggregate id, headers `kind` and
`committed_at`), acks awaited per relay batch. Consume: the projector's consumer
(`assigned_consumer`, a fresh group from the earliest offset) taking at most a projector batch
per `getmany`, without decoding.

After the produce rounds, the broker is asked what it holds: the topic's end offsets (summed over
partitions) grew by exactly the messages of every round, warm-up included, and a sample read back
by a consumer of its own carries the key, headers and envelope sent, decoding to the same event.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from bench.micro.bus import (
    PROJECTOR_BATCH,
    RELAY_BATCH,
    RawProducer,
    account_streams,
    delete_topics,
    end_offsets,
    event_message,
    mean_bytes,
    read_back,
    recorded,
    topic_size,
)
from bench.micro.harness import RUN_TAG, Runner
from bench.micro.suite import Suite
from system.bus.envelope import decode_envelope, envelope_of
from system.bus.kafka import Outgoing, assigned_consumer, ensure_topics
from system.config import Settings
from system.domain.codec import decode_event
from system.domain.recorded import RecordedEvent

TOPIC_PREFIX = f"cqrs-bench-micro-{RUN_TAG}"
WARMUP_ROUNDS = 1
SAMPLE = 200
"""Messages read back and compared with what was sent, after the produce rounds."""


@pytest.fixture(scope="module")
def topic(runner: Runner, settings: Settings) -> Iterator[tuple[str, list[int]]]:
    """A scratch topic with the stack's partition count, and its partitions; deleted after."""
    name = f"{TOPIC_PREFIX}-{uuid.uuid4().hex[:8]}-account-events"
    found = runner.run(ensure_topics(settings.kafka_bootstrap, [name], settings.kafka_partitions))
    yield name, found[name]
    runner.run(delete_topics(settings.kafka_bootstrap, [name]))


@pytest.fixture(scope="module")
def events(suite: Suite) -> list[RecordedEvent]:
    rng = random.Random(suite.seed)
    return recorded(account_streams(suite.kafka.messages, rng), rng)


@pytest.fixture(scope="module")
def messages(events: list[RecordedEvent], topic: tuple[str, list[int]]) -> list[Outgoing]:
    now = time.time()
    return [event_message(e, topic[0], now) for e in events]


def assert_sent(
    records: list[ConsumerRecord[bytes, bytes]],
    events: list[RecordedEvent],
    messages: list[Outgoing],
) -> None:
    """Each record read back is one of `messages` (key, headers, value) and decodes to its event;
    each aggregate's records sit in one partition, in version order (1 again each round)."""
    sent = {e.event_id: (e, m) for e, m in zip(events, messages, strict=True)}
    last = {e.aggregate_id: e.version for e in events}
    seen: dict[str, tuple[int, int]] = {}
    for record in records:
        envelope = decode_envelope(record.value)
        event, message = sent[envelope.event_id]
        assert (record.key, record.value) == (message.key, message.value)
        assert tuple(record.headers) == message.headers
        assert envelope == envelope_of(event)
        assert decode_event(envelope.event_type, bytes(envelope.data)) == decode_event(
            event.event_type, event.data
        )
        stream = envelope.aggregate_id
        partition, version = seen.get(stream, (record.partition, 0))
        due = 1 if version == last[stream] else version + 1
        assert (record.partition, envelope.version) == (partition, due), (stream, record.offset)
        seen[stream] = (partition, envelope.version)


def test_kafka_raw_produce(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    suite: Suite,
    topic: tuple[str, list[int]],
    events: list[RecordedEvent],
    messages: list[Outgoing],
) -> None:
    producer = RawProducer(settings.kafka_bootstrap)
    before = runner.run(end_offsets(settings.kafka_bootstrap, *topic))
    produced = {"rounds": 0}

    async def produce() -> None:
        await producer.produce(messages)
        produced["rounds"] += 1

    runner.measure(
        benchmark,
        produce,
        rounds=suite.kafka.rounds,
        warmup_rounds=WARMUP_ROUNDS,
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
    after = runner.run(end_offsets(settings.kafka_bootstrap, *topic))
    grown = sum(after.values()) - sum(before.values())
    sent = (suite.kafka.rounds + WARMUP_ROUNDS) * len(messages)
    assert grown == sent, f"end offsets grew by {grown}, {sent} messages were produced"
    sample = runner.run(read_back(settings.kafka_bootstrap, *topic, min(SAMPLE, sent)))
    assert len(sample) == min(SAMPLE, sent)
    assert_sent(sample, events, messages)


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
