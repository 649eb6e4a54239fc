"""What the projection benchmark feeds and watches: the events, their batches and documents,
a read store that counts what the projector reads and writes, and a projector run from Kafka
(or the projector's consumer alone reading the same topic).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer

from bench.micro.bus import EVENTS_PER_ACCOUNT
from bench.micro.streams import account_events
from system.bus.envelope import Envelope
from system.bus.kafka import assigned_consumer
from system.config import Settings
from system.domain.codec import decode_recorded, encode_event
from system.domain.recorded import Metadata
from system.ports import BulkOutcome, Doc
from system.projections import PROJECTIONS
from system.projections.fold import Arrival, fold_batch
from system.projections.pipeline import POLL_MS
from system.projections.projector import Projector
from system.readstore.elasticsearch import ElasticsearchReadStore

READ_MODEL = "account_balance"
ROUND_TIMEOUT_S = 120.0
Batch = dict[str, list[Arrival]]
Bulk = list[tuple[str, int, Doc]]


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
            flat.append(Arrival(decode_recorded(envelope), now.timestamp()))
    return flat


def envelopes(flat: list[Arrival]) -> list[Envelope]:
    """The events as the relay publishes them (payloads encoded again)."""
    return [
        Envelope(
            event_id=r.event_id,
            aggregate_id=r.aggregate_id,
            aggregate_type=r.aggregate_type,
            version=r.version,
            position=r.position,
            event_type=r.event_type,
            schema_version=r.event.schema_version,
            data=msgspec.Raw(encode_event(r.event)),
            metadata=r.metadata,
            recorded_at=r.recorded_at,
        )
        for r in (a.recorded for a in flat)
    ]


def flat_batches(flat: list[Arrival], size: int) -> list[Batch]:
    batches: list[Batch] = []
    for start in range(0, len(flat), size):
        batch: Batch = {}
        for arrival in flat[start : start + size]:
            batch.setdefault(arrival.recorded.aggregate_id, []).append(arrival)
        batches.append(batch)
    return batches


def documents(batches: list[Batch]) -> list[Bulk]:
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
    """The read store, counting the docs it `mget`s and writes (keeping the bulks while
    `captured` is a list), and telling when a projector's checkpoint reaches `target`."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.target = 0
        self.reached = asyncio.Event()
        self.fetched = 0
        self.written = 0
        self.captured: list[Bulk] | None = None

    async def bulk_versioned(
        self, index: str, docs: Sequence[tuple[str, int, Doc]], *, wait_for: bool = False
    ) -> BulkOutcome:
        self.written += len(docs)
        if self.captured is not None:
            self.captured.append(list(docs))
        return await super().bulk_versioned(index, docs, wait_for=wait_for)

    async def mget(self, index: str, ids: Sequence[str]) -> dict[str, Doc]:
        self.fetched += len(ids)
        return await super().mget(index, ids)

    def watch(self, target: int) -> None:
        self.target, self.reached = target, asyncio.Event()

    async def save_position(self, name: str, position: int) -> None:
        await super().save_position(name, position)
        self.passed(position)

    def passed(self, position: int) -> None:
        """Note a checkpoint written at `position`; `reached` is set once it is the target."""
        if self.target and position >= self.target:
            self.reached.set()


class WatchedProjector(Projector):
    """The real projector, telling its `WatchedStore` each checkpoint it wrote."""

    def __init__(self, store: WatchedStore, consumer: Any, batch_size: int) -> None:
        super().__init__(PROJECTIONS[READ_MODEL], store, consumer, None, batch_size=batch_size)
        self.watched = store

    async def save_checkpoint(self, watermarks: dict[Any, int]) -> None:
        await super().save_checkpoint(watermarks)
        self.watched.passed(self.position)


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
    return sum(1 for b in batches for arrivals in b.values() if arrivals[0].recorded.version > 1)


class KafkaProjection:
    """The real `Projector` over a topic: each round a new index behind the alias, the
    checkpoint at 0 and a consumer group never used; `run` until the checkpoint reaches `last`.
    `consume` reads the topic with such a consumer alone (`fresh_consumer`)."""

    def __init__(
        self, settings: Settings, store: WatchedStore, topic: str, partitions: list[int]
    ) -> None:
        self.settings = settings
        self.store = store
        self.topic = topic
        self.partitions = partitions
        self.index = Index(store)
        self.consumer: AIOKafkaConsumer | None = None
        self.last = 0
        self.groups: list[str] = []
        """Every consumer group made (`fresh_consumer`), for the caller to delete."""

    async def fresh_consumer(self) -> None:
        """A consumer of a group never used, from the earliest offsets, positions resolved."""
        await self.close()
        group = f"{self.topic}-{uuid.uuid4().hex[:8]}"
        self.groups.append(group)
        self.consumer = await assigned_consumer(
            self.settings.kafka_bootstrap, group, self.topic, self.partitions
        )
        for tp in self.consumer.assignment():
            await self.consumer.position(tp)  # resolved, as in a running projector

    async def fresh(self, last: int) -> None:
        await self.fresh_consumer()
        store = self.store
        self.index.name = await store.create_index(READ_MODEL)
        for stale in await store.swap_alias(READ_MODEL, self.index.name):
            await store.delete_index(stale)
        await store.save_position(READ_MODEL, 0)
        self.last = last
        store.watch(last)

    async def run(self, batch_size: int, timeout_s: float) -> None:
        """Project until the checkpoint reaches the last position; raise what the projector
        raised, or on timeout."""
        projector = WatchedProjector(self.store, self.consumer, batch_size)
        running = asyncio.create_task(projector.run(asyncio.Event()))
        reached = asyncio.create_task(self.store.reached.wait())
        tasks: set[asyncio.Task[Any]] = {running, reached}
        try:
            done, _ = await asyncio.wait(
                tasks, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if running in done:
                running.result()
            if reached not in done:
                raise TimeoutError(f"the projector did not reach position {self.last}")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def consume(self, messages: int, batch_size: int, timeout_s: float) -> int:
        """Read `messages` records as the projector's receiver fetches them (`getmany` of up to
        `batch_size`), nothing decoded; how many were read. Raise on timeout."""
        consumer = self.consumer
        if consumer is None:
            raise RuntimeError("consume needs fresh_consumer first")
        deadline = time.monotonic() + timeout_s
        seen = 0
        while seen < messages:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {seen} of {messages} messages of {self.topic}")
            batch = await consumer.getmany(timeout_ms=POLL_MS, max_records=batch_size)
            seen += sum(len(records) for records in batch.values())
        return seen

    async def close(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
            self.consumer = None
