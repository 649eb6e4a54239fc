"""Flush on revoke: a partition's next owner starts exactly after the last batch applied.

An instance applies a batch, notes its offsets and watermarks for the background checkpointer
and is revoked before that checkpointer ran (its next flush is up to 0.2 s away, or held up by
a slow commit). The rebalance listener writes what was noted before the group moves on, so the
group's committed offsets are the noted ones when a second member takes partitions over.

A listener without that flush (planted here) leaves the committed offsets where they were: the
next owner redelivers every event of the applied batch. Nothing is lost or reordered by that —
docs are written with external versions, so a redelivered event is a refused duplicate, and a
checkpoint is noted only after its batch's bulk, so it can lag the docs but never lead them —
which is why the test checks the group's committed offsets and saved watermarks, the only
thing the flush changes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from system.bus.groups import group_consumer, subscribe
from system.bus.kafka import ensure_topics
from system.config import Settings
from system.projections import PROJECTIONS
from system.projections.pipeline import Checkpoints
from system.projections.rebalance import Handover
from system.projections.retention import resume_or_rebuild
from system.resilience import Backoff

pytestmark = pytest.mark.integration

PARTITIONS = 3
MESSAGES = 10
APPLIED = 6
"""The applied batch ends at offset APPLIED - 1 in every partition."""
WATERMARK = 42


class NoFlushOnRevoke(Handover):
    """The plant: a listener that forgets what was noted instead of writing it."""

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        self.epoch += 1
        async with self.applying:
            if self._checkpoints is not None:
                self._checkpoints.forget(set(revoked))
        self.owned -= set(revoked)


HANDOVER_PROJECTION = dataclasses.replace(PROJECTIONS["account_balance"], name="handover-test")
"""Positions partitions only: the test's topic starts at 0, so nothing is ever rebuilt."""


async def _no_outage(exc: Exception, delays: Backoff, stop: asyncio.Event) -> None:
    raise exc


async def _member(
    settings: Settings, group: str, topic: str, listener: Handover
) -> AIOKafkaConsumer:
    consumer = await group_consumer(settings.kafka_bootstrap, group, timeout_s=10.0)
    listener.resume = functools.partial(
        resume_or_rebuild, settings, HANDOVER_PROJECTION, consumer, topic
    )
    subscribe(consumer, topic, listener)
    return consumer


async def _until_assigned(
    members: list[tuple[AIOKafkaConsumer, Handover]], timeout_s: float = 60.0
) -> None:
    """Poll every member until each owns some partitions and together they own them all."""
    async with asyncio.timeout(timeout_s):
        while True:
            for consumer, _ in members:
                await consumer.getmany(timeout_ms=100)
            owned = [listener.owned for _, listener in members]
            if all(owned) and sum(len(o) for o in owned) == PARTITIONS:
                return


async def _handover(
    settings: Settings, listener_type: type[Handover]
) -> tuple[dict[int, Any], dict[int, int]]:
    """A's applied batch is noted, B joins: (committed offset per partition, saved watermarks)."""
    topic = f"handover{uuid.uuid4().hex[:10]}"
    group = f"{topic}-group"
    await ensure_topics(settings.kafka_bootstrap, [topic], PARTITIONS)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for p in range(PARTITIONS):
            for i in range(MESSAGES):
                await producer.send_and_wait(topic, f"{p}:{i}".encode(), partition=p)
    finally:
        await producer.stop()

    saved: dict[int, int] = {}

    async def save(watermarks: dict[Any, int]) -> None:
        saved.update({tp.partition: w for tp, w in watermarks.items()})

    first, second = listener_type("a"), listener_type("b")
    a = await _member(settings, group, topic, first)
    b: AIOKafkaConsumer | None = None
    try:
        await _until_assigned([(a, first)])
        checkpoints = Checkpoints(a.commit, save, _no_outage)  # its background run never ran
        first.attach(checkpoints, {})
        applied = {TopicPartition(topic, p): APPLIED for p in range(PARTITIONS)}
        checkpoints.note(applied, {tp: WATERMARK for tp in applied})
        b = await _member(settings, group, topic, second)
        await _until_assigned([(a, first), (b, second)])
        committed = {tp.partition: await b.committed(tp) for tp in applied}
        return committed, saved
    finally:
        await a.stop()
        if b is not None:
            await b.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()


async def test_a_revoked_partition_is_handed_over_after_the_last_applied_batch(
    settings: Settings,
) -> None:
    committed, saved = await _handover(settings, Handover)
    assert committed == {p: APPLIED for p in range(PARTITIONS)}
    assert saved == {p: WATERMARK for p in range(PARTITIONS)}

    committed, saved = await _handover(settings, NoFlushOnRevoke)  # the plant is caught
    assert committed == {p: None for p in range(PARTITIONS)}  # all of it redelivered
    assert saved == {}
