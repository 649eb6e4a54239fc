"""The outbox relay's own publish rate, beside the same-work Kafka produce ceiling.

Each round appends N new account events through the event store (outbox rows included, in
transactions of `APPEND_STREAMS` streams, untimed) to a database of this test's own (so no
other suite's unpublished rows join in), then times the real `OutboxRelay.run` in-process,
pointed at scratch topics, from its start until it has marked all N published.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.micro.bus import (
    EVENTS_PER_ACCOUNT,
    RELAY_BATCH,
    account_streams,
    delete_topics,
    event_message,
    mean_bytes,
    metadata,
    recorded,
)
from bench.micro.harness import RUN_TAG, Runner, drop_database, recreate_database
from bench.micro.suite import Suite
from system.bootstrap import open_event_store, open_publisher
from system.bus.envelope import KIND_EVENT, KIND_HEADER, decode_envelope, topic_for, topics
from system.bus.kafka import KafkaPublisher, ensure_topics
from system.bus.relay import OutboxRelay
from system.config import Settings
from system.domain.account import BankAccount
from system.eventstore.outbox import PostgresOutbox
from system.eventstore.postgres import PostgresEventStore
from system.eventstore.schema import migrate
from system.ports import StreamAppend

RELAY_DATABASE = f"cqrs_bench_micro_relay_{RUN_TAG}"
APPEND_STREAMS = 50
ROUND_TIMEOUT_S = 120.0


class CountingOutbox(PostgresOutbox):
    """The relay's outbox, telling when `target` rows have been marked published."""

    def __init__(self, pool: asyncpg.Pool, target: int) -> None:
        super().__init__(pool)
        self.target = target
        self.marked = 0
        self.done = asyncio.Event()

    async def mark_published(self, positions: Sequence[int], *args: Any, **kwargs: Any) -> None:
        await super().mark_published(positions, *args, **kwargs)
        self.marked += len(positions)
        if self.marked >= self.target:
            self.done.set()


@dataclass
class Scratch:
    """The relay's database, event store, publisher and topics for this module."""

    prefix: str
    partitions: dict[str, list[int]]
    store: PostgresEventStore
    publisher: KafkaPublisher
    appended: int = 0


@pytest.fixture(scope="module")
def scratch(runner: Runner, settings: Settings) -> Iterator[Scratch]:
    prefix = f"cqrs-bench-micro-{RUN_TAG}-{uuid.uuid4().hex[:8]}-"
    bootstrap = settings.kafka_bootstrap

    async def open_() -> Scratch:
        dsn = await recreate_database(settings.pg_owner_dsn, RELAY_DATABASE)
        partitions = await ensure_topics(bootstrap, topics(prefix), settings.kafka_partitions)
        store = await open_event_store(settings, dsn=dsn, min_size=1, max_size=4)
        await migrate(store.pool)
        return Scratch(prefix, partitions, store, open_publisher(settings))

    async def close(s: Scratch | None) -> None:
        if s is not None:
            await s.publisher.close()
            await s.store.close()
        await delete_topics(bootstrap, topics(prefix))
        await drop_database(settings.pg_owner_dsn, RELAY_DATABASE)

    opened: Scratch | None = None
    try:
        opened = runner.run(open_())
        yield opened
    finally:
        runner.run(close(opened))


async def published_events(bootstrap: str, topic: str, partitions: list[int]) -> list[bytes]:
    """The values of every event message in `topic` (watermarks left out)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        values: list[bytes] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                values += [
                    r.value
                    for r in records
                    if r.value is not None and dict(r.headers).get(KIND_HEADER) == KIND_EVENT
                ]
        return values
    finally:
        await consumer.stop()


def test_relay_publish(
    benchmark: Any, runner: Runner, settings: Settings, suite: Suite, scratch: Scratch
) -> None:
    n = suite.kafka.messages // EVENTS_PER_ACCOUNT * EVENTS_PER_ACCOUNT
    rng = random.Random(suite.seed)
    outbox: dict[str, CountingOutbox] = {}
    store, publisher = scratch.store, scratch.publisher

    async def append_new_events() -> None:
        streams = account_streams(n, rng)
        meta = metadata(rng)
        for start in range(0, len(streams), APPEND_STREAMS):
            await store.append(
                [
                    StreamAppend(
                        aggregate_id=aggregate_id,
                        aggregate_type=BankAccount.aggregate_type,
                        expected_version=0,
                        events=events,
                    )
                    for aggregate_id, events in streams[start : start + APPEND_STREAMS]
                ],
                meta,
            )
        scratch.appended += n
        outbox["current"] = CountingOutbox(store.pool, n)

    async def relay_all() -> int:
        counting = outbox["current"]
        relay = OutboxRelay(counting, publisher, scratch.partitions, topic_prefix=scratch.prefix)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            async with asyncio.timeout(ROUND_TIMEOUT_S):
                await counting.done.wait()
        finally:
            stop.set()
            relay.wake.set()
            await task
        return counting.marked

    marked = runner.measure(
        benchmark,
        relay_all,
        setup=append_new_events,
        rounds=suite.kafka.rounds,
        warmup_rounds=1,
        kind="relay",
        name="outbox relay",
        events=n,
        batch=RELAY_BATCH,
    )
    assert marked == n
    assert runner.run(PostgresOutbox(store.pool).backlog()) == 0

    topic = topic_for(BankAccount.aggregate_type, scratch.prefix)
    values = runner.run(
        published_events(settings.kafka_bootstrap, topic, scratch.partitions[topic])
    )
    positions = sorted(decode_envelope(v).position for v in values)
    assert positions == list(range(1, scratch.appended + 1)), "each event exactly once"
    own = mean_bytes(values)
    rng_again = random.Random(suite.seed)
    ceiling_shape = mean_bytes(
        [
            event_message(e, topic, 0.0).value
            for e in recorded(account_streams(n, rng_again), rng_again)
        ]
    )
    assert abs(own - ceiling_shape) <= 0.03 * own, (own, ceiling_shape)
    benchmark.extra_info["message_bytes"] = own
