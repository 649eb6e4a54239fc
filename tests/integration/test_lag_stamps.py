"""Honest lag stamps against the real stack: commit time from PostgreSQL, ack time after the
commit, and visibility judged by a search at the expected version."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from system.bus.envelope import COMMITTED_AT_HEADER, OBSERVED_AT_HEADER, decode_envelope
from system.bus.kafka import ensure_topics
from system.config import Settings
from system.domain.events import AccountOpened
from system.eventstore.outbox import acked_at
from system.eventstore.postgres import PostgresEventStore
from system.ports import StreamAppend
from system.readstore.elasticsearch import ElasticsearchReadStore, visibility_search
from system.readstore.mappings import read_model_body
from tests.integration.readside_fixtures import new_id

pytestmark = pytest.mark.integration

TOPIC = "account-events"


async def _consumer_at_end(settings: Settings) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    partitions = await ensure_topics(settings.kafka_bootstrap, [TOPIC], settings.kafka_partitions)
    parts = [TopicPartition(TOPIC, p) for p in partitions[TOPIC]]
    consumer.assign(parts)
    for tp, offset in (await consumer.end_offsets(parts)).items():
        consumer.seek(tp, offset)
    return consumer


async def test_relay_sends_the_commit_time_and_records_the_ack_after_it(
    event_store: PostgresEventStore, read_settings: Settings, relay: None
) -> None:
    consumer = await _consumer_at_end(read_settings)
    account = new_id("lag-commit")
    try:
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
        headers: dict[str, bytes] = {}
        deadline = time.monotonic() + 30
        while not headers and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.key == account.encode():
                        assert decode_envelope(record.value).position == result.position
                        headers = dict(record.headers)
    finally:
        await consumer.stop()
    assert headers, "the relay never published the event"
    assert OBSERVED_AT_HEADER not in headers
    committed = float(headers[COMMITTED_AT_HEADER])
    in_pg: float = await event_store.pool.fetchval(
        "SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 FROM events"
        " WHERE position = $1",
        result.position,
    )
    assert committed == pytest.approx(in_pg, abs=0.001)
    recorded: float = await event_store.pool.fetchval(
        "SELECT extract(epoch FROM recorded_at)::float8 FROM events WHERE position = $1",
        result.position,
    )
    assert committed >= recorded
    acked: dict[int, float] = {}
    deadline = time.monotonic() + 10
    while not acked:
        assert time.monotonic() < deadline, "the relay never marked the event published"
        acked = await acked_at(event_store.pool, [result.position])
        await asyncio.sleep(0.05)
    assert committed <= acked[result.position] <= time.time()


async def test_visibility_search_finds_a_doc_only_once_searchable_at_the_expected_version(
    read_store: ElasticsearchReadStore,
) -> None:
    client = read_store.client
    index = f"{read_store.prefix}-visibility-{new_id('t').lower()}"
    body = read_model_body("account_balance")
    body["settings"]["refresh_interval"] = "-1"
    await client.indices.create(index=index, **body)
    account = new_id("lag-vis")
    doc = {"account_id": account, "owner_id": "u", "balance": 0, "status": "open"}
    try:
        await read_store.bulk_versioned(index, [(account, 3, {**doc, "version": 3, "position": 9})])
        assert (await client.get(index=index, id=account))["found"], "a realtime GET sees it"

        async def found(version: int) -> bool:
            response = await client.search(index=index, **visibility_search(account, version))
            return int(response["hits"]["total"]["value"]) > 0

        assert not await found(3), "not searchable before a refresh"
        await read_store.refresh(index)
        assert await found(3)
        assert await found(2)
        assert not await found(4), "an older version must not count as visible"
    finally:
        await client.indices.delete(index=index, ignore_unavailable=True)


async def test_store_visible_searches_the_read_model_alias(
    read_store: ElasticsearchReadStore,
) -> None:
    account = new_id("lag-alias")
    index = read_store.alias("account_balance")
    doc = {"account_id": account, "owner_id": "u", "balance": 5, "status": "open"}
    await read_store.bulk_versioned(index, [(account, 2, {**doc, "version": 2, "position": 1})])
    await read_store.refresh(index)
    assert await read_store.visible("account_balance", account, 2)
    assert not await read_store.visible("account_balance", account, 3)
