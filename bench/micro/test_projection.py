"""Projection throughput: events/s one projector folds into Elasticsearch, by path, vs raw bulk
(and, for the projector reading Kafka, vs a raw consume of its topic).

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

Each path has a ceiling bulk-indexing the very documents it writes, bulk by bulk, into an index
with the same mapping, through the same client and NDJSON encoding (orjson), without reads or
versions, with the same refresh after each bulk: the docs of the batches for `cached` and
`uncached_mget`; for `from_kafka`, the bulks one untimed pass of the projector over the topic
wrote (Kafka's batches hold whole streams more often, so it writes fewer documents).
`from_kafka` has a second ceiling, Kafka's read of the same messages: the projector's consumer
setup (a fresh group, positions resolved) and fetches (`getmany` of up to `bulk_size`) reading
every message of the topic (the events and the watermarks), nothing decoded or projected.
Beside them: the time `rebuild` takes to fold N events from a fresh event store into a new
index and swap the alias.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Iterator
from typing import Any, cast

import orjson
import pytest

from bench.micro.bus import (
    EVENTS_PER_ACCOUNT,
    delete_groups,
    delete_topics,
    group_ids,
    publish_as_relay,
    topic_size,
)
from bench.micro.harness import RUN_TAG, Runner, drop_database, recreate_database
from bench.micro.projection_work import (
    READ_MODEL,
    ROUND_TIMEOUT_S,
    Batch,
    Bulk,
    Index,
    KafkaProjection,
    WatchedStore,
    arrivals,
    continued,
    documents,
    envelopes,
    final_documents,
    flat_batches,
)
from bench.micro.streams import account_events, seed_account
from bench.micro.suite import Suite
from system.bootstrap import open_event_store
from system.bus.kafka import ensure_topics
from system.config import Settings
from system.eventstore.schema import migrate
from system.projections import PROJECTIONS
from system.projections.fold import Arrival
from system.projections.projector import BatchWriter
from system.projections.rebuild import RebuildReport, rebuild


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
    read_store.fetched = read_store.written = 0

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
    benchmark.extra_info["docs"] = read_store.written / rounds
    assert read_store.written == sum(len(b) for b in documents(batches)) * rounds
    assert read_store.fetched == (continued(batches) * rounds if path == "uncached_mget" else 0)
    assert runner.run(index.docs()) == final_documents(batches)
    runner.run(read_store.delete_index(index.name))


@pytest.fixture(scope="module")
def kafka(
    runner: Runner, settings: Settings, read_store: WatchedStore, flat: list[Arrival]
) -> Iterator[KafkaProjection]:
    """A scratch topic holding the events as the relay publishes them, then a watermark."""
    name = f"cqrs-bench-micro-{RUN_TAG}-{uuid.uuid4().hex[:8]}-account-events"
    bootstrap = settings.kafka_bootstrap

    async def fill() -> KafkaProjection:
        partitions = (await ensure_topics(bootstrap, [name], settings.kafka_partitions))[name]
        await publish_as_relay(bootstrap, name, partitions, envelopes(flat))
        return KafkaProjection(settings, read_store, name, partitions)

    projection: KafkaProjection | None = None
    try:
        projection = runner.run(fill())
        yield projection
    finally:
        if projection is not None:
            runner.run(projection.close())
            runner.run(delete_groups(bootstrap, projection.groups))
        runner.run(delete_topics(bootstrap, [name]))
    left = runner.run(group_ids(bootstrap, name))
    assert not left, f"consumer groups of {name} left on the broker: {sorted(left)}"


@pytest.fixture(scope="module")
def kafka_bulks(
    runner: Runner,
    suite: Suite,
    read_store: WatchedStore,
    flat: list[Arrival],
    kafka: KafkaProjection,
) -> list[Bulk]:
    """The bulks one (untimed) pass of the projector over the topic writes."""

    async def once() -> list[Bulk]:
        await kafka.fresh(flat[-1].recorded.position)
        read_store.captured = []
        try:
            await kafka.run(suite.projection.bulk_size, ROUND_TIMEOUT_S)
            return read_store.captured
        finally:
            read_store.captured = None

    bulks: list[Bulk] = runner.run(once())
    return bulks


def test_projection_from_kafka(
    benchmark: Any,
    runner: Runner,
    read_store: WatchedStore,
    suite: Suite,
    batches: list[Batch],
    flat: list[Arrival],
    kafka: KafkaProjection,
) -> None:
    last = flat[-1].recorded.position
    read_store.written = 0
    runner.measure(
        benchmark,
        lambda: kafka.run(suite.projection.bulk_size, ROUND_TIMEOUT_S),
        setup=lambda: kafka.fresh(last),
        rounds=suite.projection.rounds,
        warmup_rounds=1,
        kind="projection",
        name=READ_MODEL,
        path="from_kafka",
        events=suite.projection.events,
        batch=suite.projection.bulk_size,
    )
    benchmark.extra_info["docs"] = read_store.written / (suite.projection.rounds + 1)
    assert runner.run(kafka.index.docs()) == final_documents(batches)
    assert runner.run(read_store.projection_position(READ_MODEL)) == last


def test_projection_raw_consume(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    suite: Suite,
    flat: list[Arrival],
    kafka: KafkaProjection,
) -> None:
    messages = len(flat) + len(kafka.partitions)  # the events, then a watermark per partition
    held = runner.run(topic_size(settings.kafka_bootstrap, kafka.topic, kafka.partitions))
    assert held == messages
    seen = runner.measure(
        benchmark,
        lambda: kafka.consume(messages, suite.projection.bulk_size, ROUND_TIMEOUT_S),
        setup=kafka.fresh_consumer,
        rounds=suite.projection.rounds,
        warmup_rounds=1,
        kind="projection_consume",
        name=READ_MODEL,
        paths=["from_kafka"],
        events=suite.projection.events,
        messages=messages,
        batch=suite.projection.bulk_size,
    )
    assert seen == messages


@pytest.mark.parametrize("source", ["batches", "from_kafka"])
def test_projection_raw_bulk(
    benchmark: Any,
    runner: Runner,
    read_store: WatchedStore,
    suite: Suite,
    batches: list[Batch],
    source: str,
    request: pytest.FixtureRequest,
) -> None:
    bulks: list[Bulk] = (
        documents(batches) if source == "batches" else request.getfixturevalue("kafka_bulks")
    )
    index = Index(read_store)

    async def bulk() -> None:
        wait_for = "wait_for" if read_store.refresh_mode == "wait_for" else None
        for docs in bulks:
            body = b"".join(
                orjson.dumps({"index": {"_index": index.name, "_id": doc_id}})
                + b"\n"
                + orjson.dumps(doc)
                + b"\n"
                for doc_id, _, doc in docs
            )
            response = await read_store.client.bulk(
                operations=cast(Any, body), filter_path="errors", refresh=wait_for
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
        source=source,
        paths=["cached", "uncached_mget"] if source == "batches" else ["from_kafka"],
        events=suite.projection.events,
        bulks=len(bulks),
        docs=sum(len(docs) for docs in bulks),
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
    dsn: str = runner.run(recreate_database(settings.pg_owner_dsn, REBUILD_DATABASE))

    async def seed() -> None:
        store = await open_event_store(settings, dsn=dsn, min_size=1, max_size=2)
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
        runner.run(drop_database(settings.pg_owner_dsn, REBUILD_DATABASE))
    assert report.events == n // EVENTS_PER_ACCOUNT * EVENTS_PER_ACCOUNT
