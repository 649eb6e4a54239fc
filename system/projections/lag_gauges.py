"""The projector's own lag gauges: consumer-group lag and position lag per projection.

About once a second (`INTERVAL_S`) a background task sets
`cqrs_projection_consumer_lag{projection}` (messages: each partition's high watermark minus the
group's committed offset, summed) and `cqrs_projection_position_lag{projection}` (events: the
event store's head position minus the projection's checkpoint in Elasticsearch). It opens its
own small clients (one Postgres connection, a Kafka admin client and a consumer without a
group), bounds every read by `TIMEOUT_S`, and on a failure keeps the last values, drops the
failed source's client and tries again next time: an outage never stops the projector.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from system.bootstrap import open_event_store, open_read_store
from system.config import Settings
from system.metrics import PROJECTION_CONSUMER_LAG, PROJECTION_POSITION_LAG
from system.ports import EventStore
from system.readstore.elasticsearch import ElasticsearchReadStore

INTERVAL_S = 1.0
TIMEOUT_S = 3.0
log = logging.getLogger(__name__)


class LagGauges:
    """Samples both lags of the named projections into the gauges until stopped."""

    def __init__(self, settings: Settings, groups: dict[str, str]) -> None:
        self.settings = settings
        self.groups = groups
        """Projection → its consumer group."""
        self._kafka: tuple[AIOKafkaAdminClient, AIOKafkaConsumer] | None = None
        self._events: EventStore | None = None
        self._read: ElasticsearchReadStore | None = None
        self._closers: list[Callable[[], Awaitable[None]]] = []
        """The `close` of each store opened since the last drop."""
        self._failing: set[str] = set()

    async def consumer_lag(self) -> dict[str, int]:
        if self._kafka is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
            consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap)
            self._kafka = (admin, consumer)
            await admin.start()
            await consumer.start()
        admin, consumer = self._kafka
        lags: dict[str, int] = {}
        for name, group in self.groups.items():
            committed = await admin.list_consumer_group_offsets(group)
            if committed:
                ends = await consumer.end_offsets(list(committed))
                lags[name] = sum(max(0, ends[tp] - meta.offset) for tp, meta in committed.items())
        return lags

    async def position_lag(self) -> dict[str, int]:
        if self._events is None:
            events = await open_event_store(self.settings, min_size=1, max_size=1)
            self._closers.append(events.close)
            self._events = events
        if self._read is None:
            self._read = open_read_store(self.settings)
            self._closers.append(self._read.close)
        head = await self._events.head_position()
        positions = await self._read.projection_positions(list(self.groups))
        return {name: max(0, head - pos) for name, pos in positions.items()}

    async def sample(self) -> None:
        """One reading of both lags into the gauges; a failed source keeps its last values."""
        for source, read, gauge in (
            ("kafka", self.consumer_lag, PROJECTION_CONSUMER_LAG),
            ("stores", self.position_lag, PROJECTION_POSITION_LAG),
        ):
            try:
                values = await asyncio.wait_for(read(), TIMEOUT_S)
            except Exception as exc:  # any failure of a source waits for the next round
                if source not in self._failing:
                    log.warning("lag gauges: %s not read (%s: %s)", source, type(exc).__name__, exc)
                self._failing.add(source)
                await self._drop(source)
                continue
            self._failing.discard(source)
            for name, value in values.items():
                gauge.labels(name).set(value)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self.sample()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=INTERVAL_S)
        finally:
            await self._drop("kafka")
            await self._drop("stores")

    async def _drop(self, source: str) -> None:
        closing: list[Any] = []
        if source == "kafka" and self._kafka is not None:
            admin, consumer = self._kafka
            self._kafka = None
            closing += [consumer.stop(), admin.close()]
        if source == "stores":
            closing += [close() for close in self._closers]
            self._closers = []
            self._events = self._read = None
        for step in closing:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(step, TIMEOUT_S)


@contextlib.asynccontextmanager
async def running(
    settings: Settings, groups: dict[str, str], stop: asyncio.Event
) -> AsyncIterator[None]:
    """Keep the gauges sampled while the block runs (the projector's runner wraps itself)."""
    task = asyncio.create_task(LagGauges(settings, groups).run(stop))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
