"""Projection throughput: events/s one projector folds into Elasticsearch, by path, vs raw bulk.

The same N account events (interleaved across accounts as Kafka delivers them, batches of
`bulk_size`) go through three paths, each refreshing after every batch as the projector does:

- `cached`: the projector's batch path without Kafka (`BatchWriter`: current docs from its
  cache, one externally versioned bulk per batch);
- `uncached_mget`: the same, but every batch meets a writer with an empty doc cache, so each
  doc the batch continues (it exists in Elasticsearch) is fetched with `mget` first;
- `from_kafka`: the events produced beforehand, as the relay does (envelopes, headers, a
  watermark per partition), to a scratch topic; the real `Projector.run` with a fresh consumer
  group consumes, decodes, applies, bulk-writes, refreshes, commits its offsets and advances its
  checkpoint, timed until the checkpoint reaches the last position.

The ceiling bulk-indexes the very documents the cached path writes, batch by batch, into an
index with the same mapping, without reads or versions, with the same refresh after each batch.
Beside them: the time `rebuild` takes to fold N events from a fresh event store into a new
index and swap the alias.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer

from bench.micro.bus import EVENTS_PER_ACCOUNT, delete_topics, publish_as_relay
from bench.micro.harness import RUN_TAG, Runner, drop_database, recreate_database
from bench.micro.streams import account_events, seed_account
from bench.micro.suite import Suite
from system.bus.envelope import Envelope
from system.bus.kafka import assigned_consumer, ensure_topics
from system.config import Settings
from system.domain.codec import encode_event
from system.domain.recorded import Metadata
from system.eventstore.postgres import PostgresEventStore
from system.eventstore.schema import migrate
from system.projections import PROJECTIONS
from system.projections.base import Doc
from system.projections.projector import Arrival, BatchWriter, Projector, fold_batch
from system.projections.rebuild import RebuildReport, rebuild
from system.readstore.elasticsearch import ElasticsearchReadStore

READ_MODEL = "account_balance"
ROUND_TIMEOUT_S = 120.0
Batch = dict[str, list[Arrival]]


def arrivals(events: int, seed: int) -> list[Arrival]:
    """`events` account events, interleaved across accounts as Kafka would deliver them."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    streams = [
        (f"projection-{seed}-{a}", account_events(EVENTS_PER_ACCOUNT, rng))
        for a in range(events // EVENTS_PER_ACCOUNT)
    ]
    flat: list[Arrival] = []
    for version in range(EVENTS_PER_ACCOUNT):
        for aggregate_id, stream in streams:
            event = stream[version]
            envelope = Envelope(
                event_id=str(uuid.UUID(int=rng.getrandbits(128))),
                aggregate_id=aggregate_id,
                aggregate_type="BankAccount",
                version=version + 1,
                position=len(flat) + 1,
                event_type=event.type_name(),
                schema_version=event.schema_version,
                data=msgspec.Raw(encode_event(event)),
                metadata=Metadata(),
                recorded_at=now,
            )
            flat.append(Arrival(envelope, now.timestamp()))
    return flat


def flat_batches(flat: list[Arrival], size: int) -> list[Batch]:
    batches: list[Batch] = []
    for start in range(0, len(flat), size):
        batch: Batch = {}
        for arrival in flat[start : start + size]:
            batch.setdefault(arrival.envelope.aggregate_id, []).append(arrival)
        batches.append(batch)
    return batches


def documents(batches: list[Batch]) -> list[list[tuple[str, int, Doc]]]:
    """The docs the projector writes, batch by batch (folded in memory)."""
    projection = PROJECTIONS[READ_MODEL]
    current: dict[str, Doc] = {}
    out = []
    for batch in batches:
        applied = fold_batch(projection, current, batch)
        current.update({doc_id: doc for doc_id, _, doc in applied.docs})
        out.append(applied.docs)
    return out


def final_documents(batches: list[Batch]) -> dict[str, Doc]:
    return {doc_id: doc for docs in documents(batches) for doc_id, _, doc in docs}


class WatchedStore(ElasticsearchReadStore):
    """The read store, counting the docs it `mget`s and telling when a projector's checkpoint
    reaches `target`."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.target = 0
        self.reached = asyncio.Event()
        self.fetched = 0

    async def mget(self, index: str, ids: Sequence[str]) -> dict[str, Doc]:
        self.fetched += len(ids)
        return await super().mget(index, ids)

    def watch(self, target: int) -> None:
        self.target, self.reached = target, asyncio.Event()

    async def save_position(self, name: str, position: int) -> None:
        await super().save_position(name, position)
        if self.target and position >= self.target:
            self.reached.set()


@pytest.fixture(scope="module")
def read_store(runner: Runner, settings: Settings) -> Iterator[WatchedStore]:
    micro = dataclasses.replace(settings, es_index_prefix=f"cqrs-bench-micro-{RUN_TAG}")
    store = WatchedStore(micro)
    try:
        runner.run(store.ensure([READ_MODEL]))
        yield store
    finally:
        runner.run(store.client.indices.delete(index=f"{micro.es_index_prefix}-*"))
        runner.run(store.close())


@pytest.fixture(scope="module")
def flat(suite: Suite) -> list[Arrival]:
    return arrivals(suite.projection.events, suite.seed)


@pytest.fixture(scope="module")
def batches(suite: Suite, flat: list[Arrival]) -> list[Batch]:
    return flat_batches(flat, suite.projection.bulk_size)


class Index:
    """A fresh index per round, and whether the store refreshes by `wait_for`."""

    def __init__(self, store: ElasticsearchReadStore) -> None:
        self.store = store
        self.name = ""

    async def fresh(self) -> None:
        if self.name:
            await self.store.delete_index(self.name)
        self.name = await self.store.create_index(READ_MODEL)

    async def refresh(self) -> None:
        """What the projector does after each bulk to make it searchable."""
        if self.store.refresh_mode != "wait_for":
            await self.store.refresh(self.name)

    async def docs(self) -> dict[str, Doc]:
        found = await self.store.snapshot(self.name)
        return {k: {f: v for f, v in d.items() if f != "_version"} for k, d in found.items()}


def continued(batches: list[Batch]) -> int:
    """How many (batch, aggregate) pairs continue a doc written by an earlier batch."""
    return sum(1 for b in batches for arrivals in b.values() if arrivals[0].envelope.version > 1)


@pytest.mark.parametrize("path", ["cached", "uncached_mget"])
def test_projection_batch_writer(
    benchmark: Any,
    runner: Runner,
    read_store: WatchedStore,
    suite: Suite,
    batches: list[Batch],
    path: str,
) -> None:
    projection = PROJECTIONS[READ_MODEL]
    index = Index(read_store)
    read_store.fetched = 0

    async def project() -> None:
        writer = BatchWriter(projection, read_store, index.name)
        for batch in batches:
            if path == "uncached_mget":
                writer = BatchWriter(projection, read_store, index.name)
            await writer.apply(batch)
            await index.refresh()

    runner.measure(
        benchmark,
        project,
        setup=index.fresh,
        rounds=suite.projection.rounds,
        warmup_rounds=1,
        kind="projection",
        name=READ_MODEL,
        path=path,
        events=suite.projection.events,
        batches=len(batches),
        mget_docs=continued(batches) if path == "uncached_mget" else 0,
    )
    rounds = suite.projection.rounds + 1
    assert read_store.fetched == (continued(batches) * rounds if path == "uncached_mget" else 0)
    assert runner.run(index.docs()) == final_documents(batches)
    runner.run(read_store.delete_index(index.name))


@pytest.fixture(scope="module")
def topic(
    runner: Runner, settings: Settings, flat: list[Arrival]
) -> Iterator[tuple[str, list[int]]]:
    """A scratch topic holding the events as the relay publishes them, then a watermark."""
    name = f"cqrs-bench-micro-{RUN_TAG}-{uuid.uuid4().hex[:8]}-account-events"
    bootstrap = settings.kafka_bootstrap

    async def fill() -> list[int]:
        partitions = (await ensure_topics(bootstrap, [name], settings.kafka_partitions))[name]
        await publish_as_relay(bootstrap, name, partitions, [a.envelope for a in flat])
        return partitions

    try:
        yield name, runner.run(fill())
    finally:
        runner.run(delete_topics(bootstrap, [name]))


def test_projection_from_kafka(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    read_store: WatchedStore,
    suite: Suite,
    batches: list[Batch],
    flat: list[Arrival],
    topic: tuple[str, list[int]],
) -> None:
    name, partitions = topic
    projection = PROJECTIONS[READ_MODEL]
    last = flat[-1].envelope.position
    consumers: list[AIOKafkaConsumer] = []
    index = Index(read_store)

    async def fresh() -> None:
        """A new index behind the alias, the checkpoint at 0, a consumer group never used."""
        for old in consumers:
            await old.stop()
        index.name = await read_store.create_index(READ_MODEL)
        for stale in await read_store.swap_alias(READ_MODEL, index.name):
            await read_store.delete_index(stale)
        await read_store.save_position(READ_MODEL, 0)
        group = f"{name}-{uuid.uuid4().hex[:8]}"
        consumer = await assigned_consumer(settings.kafka_bootstrap, group, name, partitions)
        for tp in consumer.assignment():
            await consumer.position(tp)  # resolved, as in a running projector
        consumers[:] = [consumer]
        read_store.watch(last)

    async def project() -> None:
        projector = Projector(
            projection, read_store, consumers[0], None, batch_size=suite.projection.bulk_size
        )
        running = asyncio.create_task(projector.run(asyncio.Event()))
        reached = asyncio.create_task(read_store.reached.wait())
        try:
            done, _ = await asyncio.wait(
                {running, reached}, timeout=ROUND_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
            )
            if running in done:
                running.result()
            assert reached in done, f"the projector did not reach position {last}"
        finally:
            for task in (running, reached):
                task.cancel()
            await asyncio.gather(running, reached, return_exceptions=True)

    try:
        runner.measure(
            benchmark,
            project,
            setup=fresh,
            rounds=suite.projection.rounds,
            warmup_rounds=1,
            kind="projection",
            name=READ_MODEL,
            path="from_kafka",
            events=suite.projection.events,
            batch=suite.projection.bulk_size,
        )
    finally:
        for consumer in consumers:
            runner.run(consumer.stop())
    assert runner.run(index.docs()) == final_documents(batches)
    assert runner.run(read_store.projection_position(READ_MODEL)) == last


def test_projection_raw_bulk(
    benchmark: Any,
    runner: Runner,
    read_store: WatchedStore,
    suite: Suite,
    batches: list[Batch],
) -> None:
    docs = documents(batches)
    index = Index(read_store)

    async def bulk() -> None:
        wait_for = "wait_for" if read_store.refresh_mode == "wait_for" else None
        for batch in docs:
            operations: list[dict[str, Any]] = []
            for doc_id, _, doc in batch:
                operations += [{"index": {"_index": index.name, "_id": doc_id}}, doc]
            response = await read_store.client.bulk(
                operations=operations, filter_path="errors", refresh=wait_for
            )
            assert not response.get("errors")
            await index.refresh()

    runner.measure(
        benchmark,
        bulk,
        setup=index.fresh,
        rounds=suite.projection.rounds,
        warmup_rounds=1,
        kind="projection_raw",
        name=READ_MODEL,
        events=suite.projection.events,
        batch=suite.projection.bulk_size,
        docs=sum(len(batch) for batch in docs),
    )
    assert runner.run(index.docs()) == final_documents(batches)
    runner.run(read_store.delete_index(index.name))


REBUILD_DATABASE = f"cqrs_bench_micro_rebuild_{RUN_TAG}"


def test_projection_rebuild(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    suite: Suite,
    read_store: WatchedStore,
) -> None:
    """`rebuild` of the account-balance read model from an event store holding N events."""
    n = suite.projection.events
    dsn: str = runner.run(recreate_database(settings.pg_dsn, REBUILD_DATABASE))

    async def seed() -> None:
        store = await PostgresEventStore.open(dsn, min_size=1, max_size=2)
        try:
            await migrate(store.pool)
            rng = random.Random(suite.seed)
            for a in range(n // EVENTS_PER_ACCOUNT):
                await seed_account(store, f"rebuild-{a}", account_events(EVENTS_PER_ACCOUNT, rng))
        finally:
            await store.close()

    micro = dataclasses.replace(settings, pg_dsn=dsn, es_index_prefix=read_store.prefix)

    async def run_rebuild() -> RebuildReport:
        return await rebuild(micro, READ_MODEL, swap=True)

    try:
        runner.run(seed())
        report = runner.measure(
            benchmark,
            run_rebuild,
            rounds=suite.projection.rounds,
            kind="projection_rebuild",
            name=f"{READ_MODEL} rebuild",
            path="rebuild",
            events=n,
        )
    finally:
        runner.run(drop_database(settings.pg_dsn, REBUILD_DATABASE))
    assert report.events == n // EVENTS_PER_ACCOUNT * EVENTS_PER_ACCOUNT
