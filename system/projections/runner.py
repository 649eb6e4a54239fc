"""ProjectorRunner: every (or the named) projection in one process, each its own consumer group.

Run one runner per projection at a time: a projector reads all partitions of its topic (its
position is the minimum over them), so a second instance would only duplicate the work.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence

from system.bus.envelope import topic_for, topics
from system.bus.kafka import assigned_consumer, ensure_topics
from system.config import Settings
from system.projections import PROJECTIONS, lag_gauges
from system.projections.pipeline import SharedRefresh
from system.projections.projector import Projector, projector_health
from system.projections.stamps import StampWriter
from system.readstore.elasticsearch import ElasticsearchReadStore
from system.resilience import retry_unavailable

log = logging.getLogger(__name__)


def group_id(settings: Settings, name: str) -> str:
    """The consumer group of a projection (`cqrs-projection-<name>` with the default prefix)."""
    return f"{settings.es_index_prefix}-projection-{name}"


class ProjectorRunner:
    """Runs projectors concurrently until stopped; one failing stops them all, loudly."""

    def __init__(self, settings: Settings, names: Sequence[str] | None = None) -> None:
        unknown = sorted(set(names or ()) - set(PROJECTIONS))
        if unknown:
            raise ValueError(f"unknown projections {unknown}; known: {sorted(PROJECTIONS)}")
        self.settings = settings
        self.names = list(names or PROJECTIONS)

    async def run(self, stop: asyncio.Event) -> None:
        """Project until `stop`; setup waits (with backoff) for Kafka and Elasticsearch."""
        settings = self.settings
        health = projector_health()
        partitions = await retry_unavailable(
            lambda: ensure_topics(
                settings.kafka_bootstrap,
                topics(settings.kafka_topic_prefix),
                settings.kafka_partitions,
                timeout_s=settings.kafka_timeout_s,
            ),
            health,
            stop=stop,
        )
        if partitions is None:
            return
        store = ElasticsearchReadStore(settings)
        consumers = []
        try:
            if await retry_unavailable(lambda: self._ensure(store), health, stop=stop) is None:
                return
            stamps = StampWriter(store, health) if settings.lag_stamps else None
            refresh = SharedRefresh(store.refresh)
            projectors = []
            for name in self.names:
                projection = PROJECTIONS[name]
                topic = topic_for(projection.aggregate_type, settings.kafka_topic_prefix)
                consumer = await retry_unavailable(
                    functools.partial(
                        assigned_consumer,
                        settings.kafka_bootstrap,
                        group_id(settings, name),
                        topic,
                        partitions[topic],
                        timeout_s=settings.kafka_timeout_s,
                    ),
                    health,
                    stop=stop,
                )
                if consumer is None:
                    return
                consumers.append(consumer)
                projectors.append(
                    Projector(projection, store, consumer, stamps, health=health, refresh=refresh)
                )
            stamps_stop = asyncio.Event()
            log.info("projecting %s", ", ".join(self.names))
            async with asyncio.TaskGroup() as group:
                stamp_task = (
                    None if stamps is None else group.create_task(stamps.run(stamps_stop, stop))
                )
                runs = [group.create_task(p.run(stop)) for p in projectors]
                await asyncio.gather(*runs)
                stamps_stop.set()
                if stamp_task is not None:
                    await stamp_task
        finally:
            for consumer in consumers:
                await consumer.stop()
            await store.close()

    async def _ensure(self, store: ElasticsearchReadStore) -> bool:
        await store.ensure(self.names)
        return True


async def run_projector(
    settings: Settings, names: Sequence[str] | None, stop_event: asyncio.Event
) -> None:
    """Run the named projections (all if None) until `stop_event` is set, their lag gauges
    sampled meanwhile (`system/projections/lag_gauges.py`)."""
    groups = {name: group_id(settings, name) for name in names or PROJECTIONS}
    async with lag_gauges.running(settings, groups, stop_event):
        await ProjectorRunner(settings, names).run(stop_event)
