"""The outbox relay: right topic and key, per-aggregate order, marked published, watermarks."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from system.bus.envelope import (
    COMMITTED_AT_HEADER,
    KIND_EVENT,
    KIND_HEADER,
    KIND_WATERMARK,
    decode_envelope,
    decode_watermark,
)
from system.bus.kafka import ensure_topics
from system.config import Settings
from system.domain.events import AccountOpened, MoneyDeposited, MoneyWithdrawn
from system.eventstore.outbox import PostgresOutbox
from system.eventstore.postgres import PostgresEventStore
from system.ports import StreamAppend
from tests.integration.readside_fixtures import new_id

pytestmark = pytest.mark.integration

TOPIC = "account-events"


async def _end_offsets(settings: Settings) -> tuple[AIOKafkaConsumer, dict[TopicPartition, int]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    partitions = await ensure_topics(settings.kafka_bootstrap, [TOPIC], settings.kafka_partitions)
    parts = [TopicPartition(TOPIC, p) for p in partitions[TOPIC]]
    consumer.assign(parts)
    ends = await consumer.end_offsets(parts)
    for tp, offset in ends.items():
        consumer.seek(tp, offset)
    return consumer, ends


async def _published(pool: asyncpg.Pool, positions: list[int]) -> bool:
    unpublished: int = await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE position = ANY($1::bigint[]) AND published_at IS NULL",
        positions,
    )
    return unpublished == 0


async def test_appended_events_reach_their_topic_keyed_by_aggregate_in_version_order(
    event_store: PostgresEventStore, read_settings: Settings, relay: None
) -> None:
    consumer, _ = await _end_offsets(read_settings)
    accounts = [new_id("relay-acct") for _ in range(5)]
    try:
        for account in accounts:
            await event_store.append(
                [
                    StreamAppend(
                        aggregate_id=account,
                        aggregate_type="BankAccount",
                        expected_version=0,
                        events=[AccountOpened(owner_id="u")],
                    )
                ]
            )
        for round_ in range(4):
            for account in accounts:
                event = MoneyDeposited(amount=100) if round_ % 2 == 0 else MoneyWithdrawn(amount=50)
                await event_store.append(
                    [
                        StreamAppend(
                            aggregate_id=account,
                            aggregate_type="BankAccount",
                            expected_version=round_ + 1,
                            events=[event],
                        )
                    ]
                )
        seen: dict[str, list[int]] = {a: [] for a in accounts}
        partition_of: dict[str, set[int]] = {a: set() for a in accounts}
        positions: list[int] = []
        deadline = time.monotonic() + 30
        while sum(map(len, seen.values())) < 25 and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    headers = dict(record.headers)
                    if headers[KIND_HEADER] != KIND_EVENT:
                        continue
                    env = decode_envelope(record.value)
                    if env.aggregate_id in seen:
                        assert record.key == env.aggregate_id.encode()
                        assert float(headers[COMMITTED_AT_HEADER]) >= env.recorded_at.timestamp()
                        seen[env.aggregate_id].append(env.version)
                        partition_of[env.aggregate_id].add(tp.partition)
                        positions.append(env.position)
    finally:
        await consumer.stop()
    for account in accounts:
        assert seen[account] == [1, 2, 3, 4, 5], f"{account}: {seen[account]}"
        assert len(partition_of[account]) == 1
    deadline = time.monotonic() + 10
    while not await _published(event_store.pool, positions):
        assert time.monotonic() < deadline, "relay never marked its events published"
        await asyncio.sleep(0.05)


async def test_every_partition_gets_a_watermark_covering_published_events(
    event_store: PostgresEventStore, read_settings: Settings, relay: None
) -> None:
    consumer, ends = await _end_offsets(read_settings)
    account = new_id("relay-wm")
    result = await event_store.append(
        [
            StreamAppend(
                aggregate_id=account,
                aggregate_type="BankAccount",
                expected_version=0,
                events=[AccountOpened(owner_id="u")],
            )
        ]
    )
    covered: dict[int, int] = {}
    deadline = time.monotonic() + 30
    try:
        while len(covered) < len(ends) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    if dict(record.headers)[KIND_HEADER] == KIND_WATERMARK:
                        mark = decode_watermark(record.value).watermark
                        if mark >= result.position:
                            covered.setdefault(tp.partition, mark)
    finally:
        await consumer.stop()
    assert sorted(covered) == sorted(tp.partition for tp in ends)


async def test_the_watermark_stays_below_a_position_whose_transaction_is_still_open(
    event_store: PostgresEventStore, read_settings: Settings
) -> None:
    outbox = PostgresOutbox(event_store.pool)
    conn = await asyncpg.connect(read_settings.pg_dsn)
    try:
        open_append = conn.transaction()
        await open_append.start()
        held: int = await conn.fetchval(
            "INSERT INTO events (aggregate_id, aggregate_type, version, event_type,"
            " schema_version, data) VALUES ($1, 'BankAccount', 1, 'AccountOpened', 1,"
            ' \'{"event_type":"AccountOpened","owner_id":"u"}\') RETURNING position',
            new_id("relay-open"),
        )
        later = await event_store.append(
            [
                StreamAppend(
                    aggregate_id=new_id("relay-later"),
                    aggregate_type="BankAccount",
                    expected_version=0,
                    events=[AccountOpened(owner_id="u")],
                )
            ]
        )
        assert later.position > held
        for _ in range(3):
            assert await outbox.watermark() < held
            await asyncio.sleep(0.05)
        await open_append.rollback()
        deadline = time.monotonic() + 10
        while await outbox.watermark() < later.position:
            assert time.monotonic() < deadline, "watermark stuck after the transaction ended"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def test_a_second_relay_waits_while_one_holds_the_outbox_lock(
    event_store: PostgresEventStore, read_settings: Settings, relay: None
) -> None:
    outbox = PostgresOutbox(event_store.pool)
    await asyncio.sleep(1.0)  # the fixture's relay (or the stack's) has taken the lock
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(1.2, stop.set)
    started = time.monotonic()
    leader = await outbox.lead(read_settings.pg_dsn, lambda: None, stop)
    assert leader is None
    assert time.monotonic() - started >= 1.0
