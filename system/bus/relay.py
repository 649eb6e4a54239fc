"""The outbox relay: committed events → Kafka, marked published only after Kafka acked them.

Loop: claim the oldest unpublished batch (position order), produce it (key = aggregate id,
topic per aggregate type, each event's commit time as its `committed_at` header, or the claim
time as `observed_at` when PostgreSQL has no commit timestamp), await every ack, mark the batch
published with each event's ack time, and claim again at once
while batches keep coming. Only an empty claim waits: for NOTIFY or `poll_interval_s`. Appends
notify only when no unpublished row younger than the debounce exists (NOTIFY serialises
commits; see `system/eventstore/postgres.py`), so an append that commits just after an empty
claim may not ring: the short fallback poll bounds that wait. Safe to kill at any moment:
unmarked rows are published again (at-least-once; projections ignore repeats).

After a published batch (at most every `watermark_interval_s`) and on idle ticks it sends a
watermark `{"watermark": W}` to every partition of every topic (see `PostgresOutbox.watermark`),
which is what lets a projector state an exact position.

Outages: the relay never exits for one. Setup waits for Kafka (topics) and PostgreSQL (pool,
lock); a batch that fails because either is unavailable is retried with capped backoff (0.1 s
doubling to 5 s), counted in `cqrs_relay_retries_total` and shown by
`cqrs_relay_dependency_up`. When the lock's connection closes (PostgreSQL restarted), the relay
stops publishing at once and takes the lock again once PostgreSQL answers: another relay may
have led meanwhile, which only repeats rows (at-least-once), never reorders one aggregate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import asyncpg

from system.bus.envelope import (
    COMMITTED_AT_HEADER,
    KIND_EVENT,
    KIND_HEADER,
    KIND_WATERMARK,
    OBSERVED_AT_HEADER,
    Watermark,
    encode,
    envelope_of,
    topic_for,
    topics,
)
from system.bus.kafka import KafkaPublisher, Outgoing, ensure_topics, time_header
from system.config import Settings
from system.eventstore.outbox import PostgresOutbox
from system.eventstore.pool import PG_UNAVAILABLE, translating_unavailable
from system.metrics import (
    OUTBOX_BACKLOG,
    RELAY_BATCH,
    RELAY_DEPENDENCY_UP,
    RELAY_LAG,
    RELAY_PUBLISHED,
    RELAY_RETRIES,
)
from system.resilience import (
    Backoff,
    DependencyHealth,
    DependencyUnavailable,
    retry_unavailable,
    sleep_or_stop,
)
from system.runtime import freeze_startup_objects

log = logging.getLogger(__name__)

RETRIED: tuple[type[BaseException], ...] = (DependencyUnavailable, *PG_UNAVAILABLE)
"""Batch failures the relay waits out: Kafka or PostgreSQL unavailable."""


class OutboxRelay:
    """Moves outbox rows to Kafka in position order and publishes watermarks."""

    def __init__(
        self,
        outbox: PostgresOutbox,
        publisher: KafkaPublisher,
        partitions: Mapping[str, Sequence[int]],
        *,
        topic_prefix: str = "",
        batch_size: int = 1000,
        watermark_interval_s: float = 0.05,
        idle_interval_s: float = 0.5,
        poll_interval_s: float = 0.05,
        is_leader: Callable[[], bool] = lambda: True,
        health: DependencyHealth | None = None,
    ) -> None:
        self.outbox = outbox
        self.publisher = publisher
        self.batch_size = batch_size
        self.watermark_interval_s = watermark_interval_s
        self.idle_interval_s = idle_interval_s
        self.poll_interval_s = poll_interval_s
        self.is_leader = is_leader
        self.wake = asyncio.Event()
        self.partitions = partitions
        self.topic_prefix = topic_prefix
        self.health = health or DependencyHealth("relay", RELAY_DEPENDENCY_UP, RELAY_RETRIES, log)

    async def publish_batch(self) -> int:
        """Publish one claimed batch; returns how many events it held."""
        started = time.perf_counter()
        claimed = await self.outbox.claim(self.batch_size)
        if not claimed:
            return 0
        observed_at = time.time()
        observed = (OBSERVED_AT_HEADER, time_header(observed_at))
        messages = []
        for event, committed_at in claimed:
            origin = observed
            if committed_at is not None:
                origin = (COMMITTED_AT_HEADER, time_header(committed_at))
            messages.append(
                Outgoing(
                    topic=topic_for(event.aggregate_type, self.topic_prefix),
                    key=event.aggregate_id.encode(),
                    value=encode(envelope_of(event)),
                    headers=((KIND_HEADER, KIND_EVENT), origin),
                )
            )
        acked = await self.publisher.publish(messages)
        await self.outbox.mark_published([c.event.position for c in claimed], acked)
        for m, (_, committed_at), acked_at in zip(messages, claimed, acked, strict=True):
            RELAY_PUBLISHED.labels(m.topic).inc()
            if committed_at is None:
                RELAY_LAG.labels("observed").observe(acked_at - observed_at)
            else:
                RELAY_LAG.labels("committed").observe(acked_at - committed_at)
        RELAY_BATCH.observe(time.perf_counter() - started)
        return len(claimed)

    async def send_watermark(self) -> int:
        """Tell every partition of every topic how far publishing is complete."""
        watermark = await self.outbox.watermark()
        value = encode(Watermark(watermark))
        headers = ((KIND_HEADER, KIND_WATERMARK),)
        messages = []
        for topic in topics(self.topic_prefix):
            for partition in self.partitions[topic]:
                messages.append(
                    Outgoing(topic=topic, value=value, partition=partition, headers=headers)
                )
        await self.publisher.publish(messages)
        return watermark

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set or the lock is lost (`is_leader()` turns False).

        A batch that fails because PostgreSQL or Kafka is unavailable is retried with capped
        backoff (its rows stay unmarked); any other error propagates.
        """
        last_watermark = 0.0
        dirty = False
        delays = Backoff()
        while not stop.is_set():
            if not self.is_leader():
                log.warning("relay: the outbox lock's connection closed; publishing paused")
                return
            self.wake.clear()
            try:
                count = await self.publish_batch()
                dirty = dirty or count > 0
                since = time.monotonic() - last_watermark
                if (dirty and since >= self.watermark_interval_s) or since >= self.idle_interval_s:
                    await self.send_watermark()
                    last_watermark, dirty = time.monotonic(), False
                    if count == 0:
                        OUTBOX_BACKLOG.set(await self.outbox.backlog())
            except RETRIED as exc:
                dependency = (
                    exc.dependency if isinstance(exc, DependencyUnavailable) else "postgres"
                )
                delay = delays.next()
                self.health.failed(dependency, exc, delay)
                await sleep_or_stop(stop, delay)
                continue
            delays.reset()
            self.health.ok("postgres")
            self.health.ok("kafka")
            if count > 0:
                continue
            since = time.monotonic() - last_watermark
            interval = self.watermark_interval_s if dirty else self.idle_interval_s
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(min(interval - since, self.poll_interval_s), 0.001)):
                    await self.wake.wait()


async def _lead(
    outbox: PostgresOutbox, settings: Settings, on_notify: Callable[[], None], stop: asyncio.Event
) -> asyncpg.Connection | None:
    with translating_unavailable():
        return await outbox.lead(settings.pg_dsn, on_notify, stop)


async def run_relay(
    settings: Settings,
    stop_event: asyncio.Event,
    *,
    open_outbox: Callable[[], Awaitable[PostgresOutbox]],
    open_publisher: Callable[[], KafkaPublisher],
) -> None:
    """Run the relay until `stop_event` is set (a second relay waits for the first to die).

    Waits for Kafka and PostgreSQL at start (`open_outbox` raises `DependencyUnavailable`
    while PostgreSQL is down; the relay closes its pool), and takes the lock again after
    losing it. The composition root (`system.bootstrap.serve_relay`) supplies the factories.
    """
    health = DependencyHealth("relay", RELAY_DEPENDENCY_UP, RELAY_RETRIES, log)
    topic_names = topics(settings.kafka_topic_prefix)
    partitions = await retry_unavailable(
        lambda: ensure_topics(
            settings.kafka_bootstrap,
            topic_names,
            settings.kafka_partitions,
            timeout_s=settings.kafka_timeout_s,
            replication_factor=settings.kafka_replication_factor,
        ),
        health,
        stop=stop_event,
    )
    outbox = await retry_unavailable(open_outbox, health, stop=stop_event)
    if partitions is None or outbox is None:
        return
    publisher = open_publisher()
    try:
        leader: asyncpg.Connection | None = None
        relay = OutboxRelay(
            outbox,
            publisher,
            partitions,
            topic_prefix=settings.kafka_topic_prefix,
            is_leader=lambda: not _closed(leader),
            health=health,
        )
        stopper = asyncio.create_task(_wake_on(stop_event, relay.wake))
        freeze_startup_objects()
        try:
            while not stop_event.is_set():
                leader = await retry_unavailable(
                    lambda: _lead(outbox, settings, relay.wake.set, stop_event),
                    health,
                    stop=stop_event,
                )
                if leader is None:
                    break
                log.info("relay holds the outbox lock; publishing")
                try:
                    await relay.run(stop_event)
                finally:
                    with contextlib.suppress(*PG_UNAVAILABLE):
                        await leader.close(timeout=settings.pg_connect_timeout_s)
        finally:
            stopper.cancel()
    finally:
        await publisher.close()
        await outbox.pool.close()


def _closed(conn: asyncpg.Connection | None) -> bool:
    return conn is None or conn.is_closed()


async def _wake_on(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()
