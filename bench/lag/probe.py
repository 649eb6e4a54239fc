"""Samples, about once a second, how far each projection is behind the write side."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from system.eventstore.postgres import PostgresEventStore
from system.projections import PROJECTIONS
from system.readstore.elasticsearch import ElasticsearchReadStore

INTERVAL_S = 1.0
STAGE_QUANTILE_QUERY = (
    "histogram_quantile({q}, sum by (projection, stage, le)"
    " (rate(cqrs_projection_lag_seconds_bucket[15s])))"
)


class LagSample(msgspec.Struct, kw_only=True):
    """One probe reading; a source that failed leaves its field empty and says why in `errors`."""

    t: float
    stage_p50: dict[str, float] = msgspec.field(default_factory=dict)
    stage_p99: dict[str, float] = msgspec.field(default_factory=dict)
    consumer_lag: dict[str, int] = msgspec.field(default_factory=dict)
    position_lag: dict[str, int] = msgspec.field(default_factory=dict)
    errors: dict[str, str] = msgspec.field(default_factory=dict)


@dataclass
class LagProbe:
    """Reads Prometheus (stage histograms), Kafka (group lag) and the stores (position lag)."""

    prometheus: httpx.AsyncClient
    events: PostgresEventStore
    read_store: ElasticsearchReadStore
    kafka_bootstrap: str
    groups: dict[str, str]
    """Projection → its consumer group."""
    out: Path
    latest: LagSample | None = None
    peaks: dict[str, float] = field(default_factory=dict)
    _kafka: tuple[Any, Any] | None = None

    async def stage_quantiles(self, q: float) -> dict[str, float]:
        """`projection/stage` → the q-quantile of the last 15 s, from the real Prometheus."""
        r = await self.prometheus.get(
            "/api/v1/query", params={"query": STAGE_QUANTILE_QUERY.format(q=q)}
        )
        r.raise_for_status()
        out: dict[str, float] = {}
        for item in r.json()["data"]["result"]:
            value = float(item["value"][1])
            if value == value:  # NaN when no events in the window
                out[f"{item['metric']['projection']}/{item['metric']['stage']}"] = value
        return out

    async def consumer_lag(self) -> dict[str, int]:
        """Projection → its group's end offsets minus committed offsets, over its partitions."""
        if self._kafka is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka_bootstrap)
            consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka_bootstrap)
            await admin.start()
            await consumer.start()
            self._kafka = (admin, consumer)
        admin, consumer = self._kafka
        lags: dict[str, int] = {}
        for name, group in self.groups.items():
            committed = await admin.list_consumer_group_offsets(group)
            if not committed:
                continue
            ends = await consumer.end_offsets(list(committed))
            lags[name] = sum(max(0, ends[tp] - meta.offset) for tp, meta in committed.items())
        return lags

    async def position_lag(self) -> dict[str, int]:
        """Projection → event store head position minus the projection's position."""
        head = await self.events.head_position()
        positions = await self.read_store.projection_positions(list(PROJECTIONS))
        return {name: max(0, head - pos) for name, pos in positions.items()}

    async def sample(self) -> LagSample:
        s = LagSample(t=time.time())
        sources: dict[str, Callable[[], Awaitable[Any]]] = {
            "stage_p50": lambda: self.stage_quantiles(0.5),
            "stage_p99": lambda: self.stage_quantiles(0.99),
            "consumer_lag": self.consumer_lag,
            "position_lag": self.position_lag,
        }
        results = await asyncio.gather(*(f() for f in sources.values()), return_exceptions=True)
        for name, result in zip(sources, results, strict=True):
            if isinstance(result, BaseException):
                s.errors[name] = f"{type(result).__name__}: {result}"
            else:
                setattr(s, name, result)
        for key, value in s.position_lag.items():
            self.peaks[f"position_lag/{key}"] = max(self.peaks.get(f"position_lag/{key}", 0), value)
        for key, value in s.consumer_lag.items():
            self.peaks[f"consumer_lag/{key}"] = max(self.peaks.get(f"consumer_lag/{key}", 0), value)
        return s

    async def run(self, stop: asyncio.Event) -> None:
        """Sample every INTERVAL_S into `out` (JSONL) until `stop` is set."""
        encoder = msgspec.json.Encoder()
        try:
            with self.out.open("ab") as f:
                while not stop.is_set():
                    started = time.monotonic()
                    self.latest = await self.sample()
                    f.write(encoder.encode(self.latest) + b"\n")
                    f.flush()
                    remaining = INTERVAL_S - (time.monotonic() - started)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=max(0.0, remaining))
        finally:
            if self._kafka is not None:
                admin, consumer = self._kafka
                await consumer.stop()
                await admin.close()
