"""Projection throughput: events/s one projector folds into Elasticsearch, against raw bulk.

Ours is the projector's own batch path without Kafka (`BatchWriter`: current docs from its
cache or `mget`, `fold_batch` for the account-balance read model, one externally versioned
bulk), then a refresh. The
ceiling bulk-indexes the very documents ours writes, per batch, into an index with the same
mapping, without reads or versions, then refreshes. Beside them: the time `rebuild` takes to
fold N events from a fresh event store into a new index and swap the alias.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from bench.micro.harness import RUN_TAG, Runner, recreate_database
from bench.micro.streams import account_events, seed_account
from bench.micro.suite import Suite
from system.bus.envelope import Envelope
from system.config import Settings
from system.domain.codec import encode_event
from system.domain.recorded import Metadata
from system.eventstore.postgres import PostgresEventStore
from system.eventstore.schema import migrate
from system.projections import PROJECTIONS
from system.projections.base import Doc
from system.projections.projector import Arrival, BatchWriter, fold_batch
from system.projections.rebuild import RebuildReport, rebuild
from system.readstore.elasticsearch import ElasticsearchReadStore

READ_MODEL = "account_balance"
EVENTS_PER_ACCOUNT = 10
Batch = dict[str, list[Arrival]]


def arrivals(events: int, seed: int) -> list[Batch]:
    """`events` account events, interleaved across accounts as Kafka would deliver them."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    streams = [
        (f"projection-{seed}-{a}", account_events(EVENTS_PER_ACCOUNT, rng))
        for a in range(events // EVENTS_PER_ACCOUNT)
    ]
    flat: list[Arrival] = []
    position = 0
    for version in range(EVENTS_PER_ACCOUNT):
        for aggregate_id, stream in streams:
            position += 1
            event = stream[version]
            envelope = Envelope(
                event_id=str(uuid.UUID(int=rng.getrandbits(128))),
                aggregate_id=aggregate_id,
                aggregate_type="BankAccount",
                version=version + 1,
                position=position,
                event_type=event.type_name(),
                schema_version=event.schema_version,
                data=msgspec.Raw(encode_event(event)),
                metadata=Metadata(),
                recorded_at=now,
            )
            flat.append(Arrival(envelope, now.timestamp()))
    return flat_batches(flat)


def flat_batches(flat: list[Arrival], size: int = 0) -> list[Batch]:
    size = size or len(flat)
    batches: list[Batch] = []
    for start in range(0, len(flat), size):
        batch: Batch = {}
        for arrival in flat[start : start + size]:
            batch.setdefault(arrival.envelope.aggregate_id, []).append(arrival)
        batches.append(batch)
    return batches


@pytest.fixture(scope="module")
def read_store(runner: Runner, settings: Settings) -> Iterator[ElasticsearchReadStore]:
    micro = dataclasses.replace(settings, es_index_prefix=f"cqrs-bench-micro-{RUN_TAG}")
    store = ElasticsearchReadStore(micro)
    try:
        yield store
    finally:
        runner.run(store.client.indices.delete(index=f"{micro.es_index_prefix}-*"))
        runner.run(store.close())


@pytest.fixture(scope="module")
def batches(suite: Suite) -> list[Batch]:
    cfg = suite.projection
    flat = [
        a for batch in arrivals(cfg.events, suite.seed) for group in batch.values() for a in group
    ]
    flat.sort(key=lambda a: a.envelope.position)
    return flat_batches(flat, cfg.bulk_size)


def documents(batches: list[Batch]) -> list[list[tuple[str, int, Doc]]]:
    """The docs ours writes, batch by batch (folded in memory)."""
    projection = PROJECTIONS[READ_MODEL]
    current: dict[str, Doc] = {}
    out = []
    for batch in batches:
        applied = fold_batch(projection, current, batch)
        current.update({doc_id: doc for doc_id, _, doc in applied.docs})
        out.append(applied.docs)
    return out


def test_projection_bulk(
    benchmark: Any,
    runner: Runner,
    read_store: ElasticsearchReadStore,
    suite: Suite,
    batches: list[Batch],
) -> None:
    projection = PROJECTIONS[READ_MODEL]
    index = {"name": ""}

    async def fresh_index() -> None:
        index["name"] = await read_store.create_index(READ_MODEL)

    async def project() -> int:
        writer = BatchWriter(projection, read_store, index["name"])
        written = 0
        for batch in batches:
            applied = await writer.apply(batch)
            written += len(applied.docs)
        await read_store.refresh(index["name"])
        return written

    runner.measure(
        benchmark,
        project,
        setup=fresh_index,
        rounds=suite.projection.rounds,
        kind="projection",
        name=READ_MODEL,
        events=suite.projection.events,
    )
    count = runner.run(read_store.client.count(index=index["name"]))["count"]
    assert count == suite.projection.events // EVENTS_PER_ACCOUNT


def test_projection_raw_bulk(
    benchmark: Any,
    runner: Runner,
    read_store: ElasticsearchReadStore,
    suite: Suite,
    batches: list[Batch],
) -> None:
    docs = documents(batches)
    index = {"name": ""}

    async def fresh_index() -> None:
        index["name"] = await read_store.create_index(READ_MODEL)

    async def bulk() -> None:
        for batch in docs:
            operations: list[dict[str, Any]] = []
            for doc_id, _, doc in batch:
                operations += [{"index": {"_index": index["name"], "_id": doc_id}}, doc]
            response = await read_store.client.bulk(operations=operations, filter_path="errors")
            assert not response.get("errors")
        await read_store.refresh(index["name"])

    runner.measure(
        benchmark,
        bulk,
        setup=fresh_index,
        rounds=suite.projection.rounds,
        kind="projection_raw",
        name=READ_MODEL,
        events=suite.projection.events,
    )


REBUILD_DATABASE = f"cqrs_bench_micro_rebuild_{RUN_TAG}"


def test_projection_rebuild(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    suite: Suite,
    read_store: ElasticsearchReadStore,
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

    runner.run(seed())
    micro = dataclasses.replace(settings, pg_dsn=dsn, es_index_prefix=read_store.prefix)

    async def run_rebuild() -> RebuildReport:
        return await rebuild(micro, READ_MODEL, swap=True)

    report = runner.measure(
        benchmark,
        run_rebuild,
        rounds=suite.projection.rounds,
        kind="projection_rebuild",
        name=f"{READ_MODEL} rebuild",
        events=n,
    )
    assert report.events == n // EVENTS_PER_ACCOUNT * EVENTS_PER_ACCOUNT
