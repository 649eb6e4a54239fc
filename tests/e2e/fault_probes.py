"""What the deep-fault tests read from the stack: a service's Prometheus counters, the
projections' positions, and how often each event position went through Kafka since a time."""

from __future__ import annotations

from collections import Counter

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from system.bootstrap import open_read_store
from system.bus.envelope import KIND_EVENT, KIND_HEADER, decode_envelope, topics
from system.bus.kafka import ensure_topics
from system.config import DEFAULT_PROJECTOR_METRICS_PORT, Settings
from system.projections import PROJECTIONS

PROJECTOR_METRICS = f"http://127.0.0.1:{DEFAULT_PROJECTOR_METRICS_PORT}/metrics"


async def metric(url: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when none)."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        text = (await client.get(url)).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def positions(settings: Settings) -> dict[str, int]:
    """Every projection's checkpoint position."""
    store = open_read_store(settings)
    try:
        return await store.projection_positions(list(PROJECTIONS))
    finally:
        await store.close()


async def copies_in_kafka(settings: Settings, since: float, wanted: range) -> Counter[int]:
    """How many event messages of each position in `wanted` Kafka holds from `since` (epoch s)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        described = await ensure_topics(
            settings.kafka_bootstrap, topics(settings.kafka_topic_prefix), settings.kafka_partitions
        )
        assigned = [TopicPartition(t, p) for t, partitions in described.items() for p in partitions]
        consumer.assign(assigned)
        found = await consumer.offsets_for_times(dict.fromkeys(assigned, int(since * 1000)))
        ends = await consumer.end_offsets(assigned)
        todo = {}
        for tp in assigned:
            start = found[tp].offset if found[tp] is not None else ends[tp]
            consumer.seek(tp, start)
            if start < ends[tp]:
                todo[tp] = ends[tp]
        copies: Counter[int] = Counter()
        while todo:
            batch = await consumer.getmany(*todo, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if dict(record.headers).get(KIND_HEADER) == KIND_EVENT:
                        position = decode_envelope(record.value).position
                        if position in wanted:
                            copies[position] += 1
                    if record.offset + 1 >= todo.get(tp, 0):
                        todo.pop(tp, None)
        return copies
    finally:
        await consumer.stop()
