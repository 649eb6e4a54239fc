"""Exact lag percentiles by projection and stage, from the projectors' per-batch lag records.

A record (see the lag-stamp contract in `system/projections`) holds a batch's consumed,
indexed and searchable times and, per event, its position and origin (commit time, or the
relay's first sight of it); the Kafka ack time is joined from the outbox by position. Only
events whose origin lies in the measured window count.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from elasticsearch import AsyncElasticsearch

from bench.report.constants import LAG_KEYS, LagStage
from system.eventstore.outbox import acked_at

STAGES: dict[LagStage, tuple[str, str]] = {
    LagStage.RELAY: ("origin", "acked_at"),
    LagStage.KAFKA: ("acked_at", "consumed_at"),
    LagStage.INDEX: ("consumed_at", "indexed_at"),
    LagStage.REFRESH: ("indexed_at", "searchable_at"),
    LagStage.END_TO_END: ("origin", "searchable_at"),
}
"""Stage → (from stamp, to stamp), as the projector's lag-stamp contract defines them."""
PAGE = 5000
SETTLE_S = 1.5
ACK_CHUNK = 10_000


@dataclass(frozen=True)
class EventStamps:
    """One event's stamps in one projection (epoch seconds)."""

    projection: str
    position: int
    origin: float
    observed: bool
    consumed_at: float
    indexed_at: float
    searchable_at: float
    acked_at: float | None = None


def quantile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of sorted values (exact: one of the values)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def lag_row(projection: str, stage: str, values: Iterable[float]) -> dict[str, Any]:
    """A `lag` row of results.json: p50, p90, p99 and max in seconds."""
    ordered = sorted(values)
    quantiles = {"p50": 0.5, "p90": 0.9, "p99": 0.99}
    row: dict[str, Any] = {"projection": projection, "stage": stage}
    for key in LAG_KEYS:
        row[key] = (
            ordered[-1] if key == "max" and ordered else quantile(ordered, quantiles.get(key, 1))
        )
    return row


def explode(records: Iterable[Mapping[str, Any]]) -> list[EventStamps]:
    """Per-event stamps from batch records; an event in several records keeps its first
    consumption (the earliest `consumed_at`)."""
    first: dict[tuple[str, int], EventStamps] = {}
    for record in records:
        events = record["events"]
        for position, origin, observed in zip(
            events["position"], events["origin"], events["observed"], strict=True
        ):
            stamps = EventStamps(
                projection=record["projection"],
                position=int(position),
                origin=float(origin),
                observed=bool(observed),
                consumed_at=float(record["consumed_at"]),
                indexed_at=float(record["indexed_at"]),
                searchable_at=float(record["searchable_at"]),
            )
            key = (stamps.projection, stamps.position)
            known = first.get(key)
            if known is None or stamps.consumed_at < known.consumed_at:
                first[key] = stamps
    return list(first.values())


def in_window(stamps: Iterable[EventStamps], since: float, until: float) -> list[EventStamps]:
    """The events whose origin (commit time) lies in [since, until]."""
    return [s for s in stamps if since <= s.origin <= until]


def with_acks(stamps: Iterable[EventStamps], acked: Mapping[int, float]) -> list[EventStamps]:
    """The stamps with their Kafka ack times (by position) filled in where known."""
    return [
        EventStamps(**{**s.__dict__, "acked_at": acked.get(s.position, s.acked_at)}) for s in stamps
    ]


def stage_values(stamps: Iterable[EventStamps]) -> dict[tuple[str, LagStage], list[float]]:
    """(projection, stage) → every stamped event's lag in seconds (unknown stamps skipped)."""
    out: dict[tuple[str, LagStage], list[float]] = defaultdict(list)
    for s in stamps:
        for stage, (start, end) in STAGES.items():
            a, b = getattr(s, start), getattr(s, end)
            if a is not None and b is not None:
                out[s.projection, stage].append(b - a)
    return out


def lag_rows(stamps: Iterable[EventStamps]) -> list[dict[str, Any]]:
    """One row per projection and stage, sorted by projection then stage order.

    Each row also gives `clock_anomalies`, how many of its values came out negative: those
    enter the percentiles as 0 (results.json holds no negative durations), so the count is
    what shows them; and `origin`: `committed` (PostgreSQL commit times), `observed` (the
    relay's first sight, without commit timestamps) or `mixed`.
    """
    stamps = list(stamps)
    origins: dict[str, set[str]] = defaultdict(set)
    for s in stamps:
        origins[s.projection].add("observed" if s.observed else "committed")
    values = stage_values(stamps)
    order = list(STAGES)
    rows = []
    for projection, stage in sorted(values, key=lambda k: (k[0], order.index(k[1]))):
        raw = values[projection, stage]
        row = lag_row(projection, stage, (max(v, 0.0) for v in raw))
        row["clock_anomalies"] = sum(1 for v in raw if v < 0)
        kinds = origins[projection]
        row["origin"] = next(iter(kinds)) if len(kinds) == 1 else "mixed"
        row["source"] = "stamps"
        rows.append(row)
    return rows


async def settled_count(
    client: AsyncElasticsearch, index: str, query: Mapping[str, Any], timeout_s: float
) -> int:
    """The record count once it stopped growing (records are written after the checkpoint)."""
    deadline = time.monotonic() + timeout_s
    last = -1
    while True:
        await client.indices.refresh(index=index)
        count = int((await client.count(index=index, query=query))["count"])
        if count == last or time.monotonic() > deadline:
            return count
        last = count
        await asyncio.sleep(SETTLE_S)


async def fetch_records(
    client: AsyncElasticsearch, index: str, since: float, until: float, timeout_s: float = 20.0
) -> list[dict[str, Any]]:
    """Every lag record holding an event whose origin may lie in [since, until]."""
    query = {
        "bool": {
            "filter": [
                {"range": {"origin_max": {"gte": since}}},
                {"range": {"origin_min": {"lte": until}}},
            ]
        }
    }
    await settled_count(client, index, query, timeout_s)
    response = await client.search(index=index, query=query, size=PAGE, scroll="1m")
    scroll_id = response.get("_scroll_id")
    records: list[dict[str, Any]] = []
    try:
        while hits := response["hits"]["hits"]:
            records.extend(hit["_source"] for hit in hits)
            response = await client.scroll(scroll_id=scroll_id, scroll="1m")
            scroll_id = response.get("_scroll_id")
    finally:
        if scroll_id:
            await client.clear_scroll(scroll_id=scroll_id)
    return records


async def fetch_stamps(
    client: AsyncElasticsearch, index: str, pool: asyncpg.Pool, since: float, until: float
) -> list[EventStamps]:
    """Every projected event with its origin in [since, until], its ack time joined."""
    stamps = in_window(explode(await fetch_records(client, index, since, until)), since, until)
    positions = sorted({s.position for s in stamps})
    acked: dict[int, float] = {}
    for i in range(0, len(positions), ACK_CHUNK):
        acked.update(await acked_at(pool, positions[i : i + ACK_CHUNK]))
    return with_acks(stamps, acked)
