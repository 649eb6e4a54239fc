"""`projector:outlive-retention`: the projector stays down until Kafka deleted events it had not
read, then comes back, finds the gap and rebuilds (`system/projections/retention.py`).

The projector is stopped (supervisor and all); the topic of `PROJECTION` gets a retention and
a segment roll of `SHORT_MS`, so the broker's retention check (every few seconds in the native
stack's `server.properties`) deletes every closed segment; once every partition's log start
offset has passed the projection's committed offset, the topic's own settings are restored and
the projector started again. Kafka is driven with its admin API (confluent-kafka).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
)
from confluent_kafka.admin._listoffsets import OffsetSpec
from confluent_kafka.admin._resource import ResourceType

from bench.stack.lifecycle import bring_up, load_services, stop_service
from bench.stack.registry import SERVICES
from system.bus.envelope import topic_for
from system.config import Settings
from system.projections import PROJECTIONS
from system.projections.runner import group_id

PROJECTION = "account_balance"
"""The projection whose topic loses events (the banking scenario writes it)."""
SHORT_MS = "1000"
SHRUNK = ("retention.ms", "segment.ms")
CHECK_INTERVAL = "log.retention.check.interval.ms"
MAX_CHECK_INTERVAL_MS = 10_000
PASSED_TIMEOUT_S = 90.0
ADMIN_TIMEOUT_S = 15.0


class RetentionError(RuntimeError):
    """The broker cannot make the projector outlive its retention here."""


@dataclass(frozen=True)
class Offsets:
    """Per partition: the group's committed offset (None: never committed), the log start."""

    committed: dict[int, int | None]
    starts: dict[int, int]

    def passed(self) -> bool:
        """Whether every partition's log start is beyond what the group has read."""
        return all(start > (self.committed.get(p) or 0) for p, start in self.starts.items())


def _admin(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap})


def check_interval_ms(admin: AdminClient) -> int:
    """The broker's `log.retention.check.interval.ms` (the first broker the cluster lists)."""
    broker = min(admin.list_topics(timeout=ADMIN_TIMEOUT_S).brokers)
    resource = ConfigResource(ResourceType.BROKER, str(broker))
    config = admin.describe_configs([resource])[resource].result(timeout=ADMIN_TIMEOUT_S)
    return int(config[CHECK_INTERVAL].value)


def topic_overrides(admin: AdminClient, topic: str) -> dict[str, str]:
    """The settings set on `topic` itself (not inherited from the broker)."""
    resource = ConfigResource(ResourceType.TOPIC, topic)
    config = admin.describe_configs([resource])[resource].result(timeout=ADMIN_TIMEOUT_S)
    return {
        name: entry.value
        for name, entry in config.items()
        if entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    }


def _alter(admin: AdminClient, topic: str, entries: list[ConfigEntry]) -> None:
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
    admin.incremental_alter_configs([resource])[resource].result(timeout=ADMIN_TIMEOUT_S)


@contextmanager
def short_retention(admin: AdminClient, topic: str) -> Iterator[None]:
    """`topic` with retention and segment roll of `SHORT_MS` inside; its own settings after."""
    before = topic_overrides(admin, topic)
    _alter(
        admin,
        topic,
        [ConfigEntry(n, SHORT_MS, incremental_operation=AlterConfigOpType.SET) for n in SHRUNK],
    )
    try:
        yield
    finally:
        _alter(
            admin,
            topic,
            [
                ConfigEntry(name, before[name], incremental_operation=AlterConfigOpType.SET)
                if name in before
                else ConfigEntry(name, None, incremental_operation=AlterConfigOpType.DELETE)
                for name in SHRUNK
            ],
        )


def offsets(admin: AdminClient, topic: str, group: str) -> Offsets:
    """The group's committed offsets and the log start offsets of `topic`'s partitions."""
    partitions = sorted(admin.list_topics(topic, timeout=ADMIN_TIMEOUT_S).topics[topic].partitions)
    earliest = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
    specs = {TopicPartition(topic, p): earliest for p in partitions}
    starts = {
        tp.partition: future.result(timeout=ADMIN_TIMEOUT_S).offset
        for tp, future in admin.list_offsets(specs).items()
    }
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])
    found = admin.list_consumer_group_offsets([request])[group].result(timeout=ADMIN_TIMEOUT_S)
    committed = {
        tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in found.topic_partitions
    }
    return Offsets(committed, starts)


def _outlive(settings: Settings, topic: str, group: str) -> Offsets:
    admin = _admin(settings)
    interval = check_interval_ms(admin)
    if interval > MAX_CHECK_INTERVAL_MS:
        raise RetentionError(
            f"Kafka deletes expired segments every {interval} ms ({CHECK_INTERVAL}); the native"
            f" stack sets it to a few seconds at start: `cqrs-bench restart kafka` once"
        )
    deadline = time.monotonic() + PASSED_TIMEOUT_S
    with short_retention(admin, topic):
        while not (found := offsets(admin, topic, group)).passed():
            if time.monotonic() > deadline:
                raise RetentionError(
                    f"{topic}: log start offsets {found.starts} had not passed the committed"
                    f" offsets {found.committed} of {group} after {PASSED_TIMEOUT_S:g}s"
                )
            time.sleep(0.5)
    return found


async def outlive_retention(settings: Settings) -> Offsets:
    """Stop the projector, let retention delete what it had not read, start it again; returns
    the offsets that proved the gap."""
    load_services()
    name = PROJECTION
    topic = topic_for(PROJECTIONS[name].aggregate_type, settings.kafka_topic_prefix)
    await asyncio.to_thread(stop_service, SERVICES["projector"], settings)
    try:
        return await asyncio.to_thread(_outlive, settings, topic, group_id(settings, name))
    finally:
        await bring_up(settings, ["projector"])
