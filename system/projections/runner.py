"""ProjectorRunner: every (or the named) projection in one process, each its own consumer group.

Scale-out: run several runners (instances), each a member of every projection's consumer group;
the group shares each topic's partitions among them (`system/bus/groups.py`), a rebalance hands
a partition over after its in-flight batch was applied and checkpointed
(`system/projections/rebalance.py`), and the checkpoint is kept per partition
(`system/readstore/checkpoint.py`), so each instance advances only what it owns.

Rebalancing protocol: eager, with the sticky assignor and static membership. aiokafka 0.14 (the
client pinned in uv.lock) implements neither cooperative-sticky incremental rebalancing
(KIP-429; https://github.com/aio-libs/aiokafka/issues/1126, open) nor the KIP-848 consumer
protocol, so a rebalance pauses every instance of a projection for a moment (their in-flight
batch finishes first). Static membership (`instance_id` → `group_instance_id`, KIP-345) keeps
the most common disturbance — an instance restarted by its supervisor — from rebalancing the
others at all; a SIGKILLed instance that stays away loses its partitions when its 10 s session
expires. Give every concurrent instance its own id: two members with one id fence each other.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence

from system.bootstrap import open_read_store
from system.bus.envelope import topic_for, topics
from system.bus.groups import group_consumer, subscribe
from system.bus.kafka import ensure_topics
from system.config import Settings
from system.metrics import PROJECTOR_SETTINGS
from system.ports import ReadModelAdmin
from system.projections import PROJECTIONS, lag_gauges
from system.projections.pipeline import SharedRefresh
from system.projections.projector import Projector, projector_health
from system.projections.rebalance import Handover
from system.projections.retention import resume_or_rebuild
from system.projections.stamps import StampWriter
from system.resilience import retry_unavailable
from system.runtime import freeze_startup_objects

log = logging.getLogger(__name__)


def group_id(settings: Settings, name: str) -> str:
    """The consumer group of a projection (`cqrs-projection-<name>` with the default prefix)."""
    return f"{settings.es_index_prefix}-projection-{name}"


class ProjectorRunner:
    """Runs projectors concurrently until stopped; one failing stops them all, loudly."""

    def __init__(
        self,
        settings: Settings,
        names: Sequence[str] | None = None,
        *,
        instance_id: str | None = None,
    ) -> None:
        unknown = sorted(set(names or ()) - set(PROJECTIONS))
        if unknown:
            raise ValueError(f"unknown projections {unknown}; known: {sorted(PROJECTIONS)}")
        self.settings = settings
        self.names = list(names or PROJECTIONS)
        self.instance_id = instance_id

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
                replication_factor=settings.kafka_replication_factor,
            ),
            health,
            stop=stop,
        )
        if partitions is None:
            return
        store: ReadModelAdmin = open_read_store(settings)
        consumers = []
        try:
            if await retry_unavailable(lambda: self._ensure(store), health, stop=stop) is None:
                return
            stamps = StampWriter(store, health) if settings.lag_stamps else None
            gap_s = settings.projection_refresh_gap_ms / 1000
            # An `immediate` bulk refreshes itself, so there the gap spaces the bulks; in the
            # other modes it spaces the shared refreshes.
            immediate = settings.projection_refresh == "immediate"
            bulk_gap_s, refresh_gap_s = (gap_s, 0.0) if immediate else (0.0, gap_s)
            refresh = SharedRefresh(store.refresh, refresh_gap_s)
            projectors = []
            for name in self.names:
                projection = PROJECTIONS[name]
                topic = topic_for(projection.aggregate_type, settings.kafka_topic_prefix)
                consumer = await retry_unavailable(
                    functools.partial(
                        group_consumer,
                        settings.kafka_bootstrap,
                        group_id(settings, name),
                        instance_id=self.instance_id,
                        timeout_s=settings.kafka_timeout_s,
                    ),
                    health,
                    stop=stop,
                )
                if consumer is None:
                    return
                consumers.append(consumer)
                handover = Handover(name)
                handover.resume = functools.partial(
                    resume_or_rebuild, settings, projection, consumer, topic
                )
                projectors.append(
                    Projector(
                        projection,
                        store,
                        consumer,
                        stamps,
                        health=health,
                        refresh=refresh,
                        handover=handover,
                        partitions=partitions[topic],
                        bulk_gap_s=bulk_gap_s,
                    )
                )
                subscribe(consumer, topic, handover)
            stamps_stop = asyncio.Event()
            freeze_startup_objects()
            log.info("projecting %s as %s", ", ".join(self.names), self.instance_id or "a member")
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

    async def _ensure(self, store: ReadModelAdmin) -> bool:
        await store.ensure(self.names)
        await store.ensure_partitions_field()
        return True


async def run_projector(
    settings: Settings,
    names: Sequence[str] | None,
    stop_event: asyncio.Event,
    *,
    instance_id: str | None = None,
) -> None:
    """Run the named projections (all if None) until `stop_event` is set, their lag gauges
    sampled meanwhile (`system/projections/lag_gauges.py`); `instance_id` makes this instance
    a static member of the consumer groups (see the module docstring)."""
    PROJECTOR_SETTINGS.info(
        {
            "refresh": settings.projection_refresh,
            "refresh_gap_ms": str(settings.projection_refresh_gap_ms),
            "lag_stamps": str(settings.lag_stamps).lower(),
        }
    )
    groups = {name: group_id(settings, name) for name in names or PROJECTIONS}
    async with lag_gauges.running(settings, groups, stop_event):
        await ProjectorRunner(settings, names, instance_id=instance_id).run(stop_event)
