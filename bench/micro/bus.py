"""Relay-shaped Kafka traffic for the micro suites: real envelopes, the relay's headers and
settings, raw confluent-kafka produce, scratch topics.

The messages are what `OutboxRelay.publish_batch` produces: key = aggregate id, value = the
`Envelope` of a recorded domain event (`envelope_of` + `encode`, uuid ids and a correlation id
as the api writes them), headers `kind=event` and `committed_at`. The relay benchmark checks
that the relay's own messages have the same mean size.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient

from bench.micro.streams import account_events
from system.bus.envelope import (
    COMMITTED_AT_HEADER,
    KIND_EVENT,
    KIND_HEADER,
    KIND_WATERMARK,
    Envelope,
    Watermark,
    encode,
    envelope_of,
)
from system.bus.kafka import (
    FLUSH_SLICE_S,
    KafkaPublisher,
    Outgoing,
    producer_config,
    time_header,
)
from system.bus.relay import OutboxRelay
from system.domain.account import BankAccount
from system.domain.codec import encode_event
from system.domain.events import Event
from system.domain.recorded import Metadata, RecordedEvent
from system.projections.projector import Projector

EVENTS_PER_ACCOUNT = 10
RELAY_BATCH: int = inspect.signature(OutboxRelay).parameters["batch_size"].default
"""The relay's claim (and so produce-then-await-acks) batch size."""
PROJECTOR_BATCH: int = inspect.signature(Projector).parameters["batch_size"].default
"""The most records a projector takes from one `getmany`."""

Stream = tuple[str, list[Event]]


def api_id(rng: random.Random) -> str:
    """A seeded uuid string, shaped like the ids the api hands out."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def account_streams(events: int, rng: random.Random) -> list[Stream]:
    """`events` account events as streams of `EVENTS_PER_ACCOUNT` (open, then deposits)."""
    return [
        (api_id(rng), account_events(EVENTS_PER_ACCOUNT, rng))
        for _ in range(events // EVENTS_PER_ACCOUNT)
    ]


def metadata(rng: random.Random) -> Metadata:
    """The provenance the api records with every command (a correlation id)."""
    return Metadata(correlation_id=api_id(rng))


def recorded(streams: Sequence[Stream], rng: random.Random) -> list[RecordedEvent]:
    """The streams as the event store would record them, stream after stream."""
    now = datetime.now(UTC)
    meta = metadata(rng)
    out: list[RecordedEvent] = []
    for aggregate_id, events in streams:
        for version, event in enumerate(events, start=1):
            out.append(
                RecordedEvent(
                    event_id=api_id(rng),
                    aggregate_id=aggregate_id,
                    aggregate_type=BankAccount.aggregate_type,
                    version=version,
                    position=len(out) + 1,
                    event_type=event.type_name(),
                    schema_version=event.schema_version,
                    data=encode_event(event),
                    metadata=meta,
                    recorded_at=now,
                )
            )
    return out


def envelope_message(envelope: Envelope, topic: str, committed_at: float) -> Outgoing:
    """The message the relay produces for an event's envelope."""
    return Outgoing(
        topic=topic,
        key=envelope.aggregate_id.encode(),
        value=encode(envelope),
        headers=((KIND_HEADER, KIND_EVENT), (COMMITTED_AT_HEADER, time_header(committed_at))),
    )


def event_message(event: RecordedEvent, topic: str, committed_at: float) -> Outgoing:
    """The message the relay produces for `event`."""
    return envelope_message(envelope_of(event), topic, committed_at)


def watermark_messages(topic: str, partitions: Sequence[int], watermark: int) -> list[Outgoing]:
    """The relay's watermark, one per partition."""
    value = encode(Watermark(watermark))
    headers = ((KIND_HEADER, KIND_WATERMARK),)
    return [Outgoing(topic=topic, value=value, partition=p, headers=headers) for p in partitions]


async def publish_as_relay(
    bootstrap: str, topic: str, partitions: Sequence[int], envelopes: Sequence[Envelope]
) -> None:
    """The envelopes, then a watermark at the last position, published as the relay does."""
    now = time.time()
    messages = [envelope_message(e, topic, now) for e in envelopes]
    messages += watermark_messages(topic, partitions, envelopes[-1].position)
    publisher = KafkaPublisher(bootstrap)
    try:
        await publisher.publish(messages)
    finally:
        await publisher.close()


def mean_bytes(values: Sequence[bytes]) -> float:
    return sum(len(v) for v in values) / len(values)


class RawProducer:
    """confluent-kafka with the relay's settings, nothing around it: produce, await the acks."""

    def __init__(self, bootstrap: str) -> None:
        self.config = producer_config(bootstrap)
        self.producer = Producer(self.config)
        self.errors: list[KafkaError] = []

    def _delivered(self, error: KafkaError | None, _: Message) -> None:
        if error is not None:
            self.errors.append(error)

    async def produce(self, messages: Sequence[Outgoing], batch: int = RELAY_BATCH) -> None:
        """Produce `messages` `batch` at a time, each batch's acks awaited (as the relay does)."""
        for start in range(0, len(messages), batch):
            for m in messages[start : start + batch]:
                while True:
                    try:
                        self.producer.produce(
                            m.topic,
                            m.value,
                            m.key,
                            on_delivery=self._delivered,
                            headers=list(m.headers),
                        )
                        break
                    except BufferError:
                        await asyncio.to_thread(self.producer.poll, 0.05)
            while await asyncio.to_thread(self.producer.flush, FLUSH_SLICE_S):
                pass
        if self.errors:
            raise RuntimeError(f"{len(self.errors)} messages not acked: {self.errors[0]}")

    def describe(self) -> dict[str, Any]:
        """The settings that matter, for the row's `work`."""
        return {k: self.config[k] for k in ("acks", "enable.idempotence", "linger.ms")}


async def delete_topics(bootstrap: str, names: Sequence[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(list(names))
    finally:
        await admin.close()


async def delete_groups(bootstrap: str, groups: Sequence[str]) -> None:
    """Delete consumer groups (those already gone are fine): a group that committed offsets
    outlives its consumers for the broker's offsets retention (7 days by default)."""
    if not groups:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_consumer_groups(list(groups)).values():
        try:
            await asyncio.to_thread(future.result, 30)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                raise


async def group_ids(bootstrap: str, prefix: str) -> set[str]:
    """The consumer groups on the broker whose id starts with `prefix`."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    listed = await asyncio.to_thread(admin.list_consumer_groups().result, 30)
    return {g.group_id for g in listed.valid if g.group_id.startswith(prefix)}


async def topic_size(bootstrap: str, topic: str, partitions: Sequence[int]) -> int:
    """How many messages `topic` holds (end minus beginning offsets, over its partitions)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str, partitions: Sequence[int]) -> dict[int, int]:
    """Each partition's end offset (the offset its next message will get), asked of the broker."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def read_back(
    bootstrap: str, topic: str, partitions: Sequence[int], count: int, timeout_s: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """The first `count` messages of `topic` (from each partition's beginning, no group), read
    by a consumer of their own; fewer only if the topic holds fewer within `timeout_s`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=count - len(records))
            records += [r for rs in batch.values() for r in rs]
        return records
    finally:
        await consumer.stop()
