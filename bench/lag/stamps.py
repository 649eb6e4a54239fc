"""Exact lag percentiles by projection and stage, from the projector's per-event stamps."""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from elasticsearch import AsyncElasticsearch

from bench.report.constants import LAG_KEYS

STAGES: dict[str, tuple[str, str]] = {
    "relay": ("recorded_at", "published_at"),
    "kafka": ("published_at", "consumed_at"),
    "index": ("consumed_at", "indexed_at"),
    "refresh": ("indexed_at", "searchable_at"),
    "end_to_end": ("recorded_at", "searchable_at"),
}
"""Stage → (from stamp, to stamp), as the projector's lag-stamp contract defines them."""
PAGE = 5000
SETTLE_S = 1.5


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


def stage_values(stamps: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[float]]:
    """(projection, stage) → every stamped event's lag in seconds."""
    out: dict[tuple[str, str], list[float]] = defaultdict(list)
    for stamp in stamps:
        for stage, (start, end) in STAGES.items():
            if stamp.get(start) is not None and stamp.get(end) is not None:
                out[stamp["projection"], stage].append(float(stamp[end]) - float(stamp[start]))
    return out


def lag_rows(stamps: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per projection and stage, sorted by projection then stage order."""
    values = stage_values(stamps)
    order = list(STAGES)
    keys = sorted(values, key=lambda k: (k[0], order.index(k[1])))
    return [lag_row(projection, stage, values[projection, stage]) for projection, stage in keys]


async def settled_count(
    client: AsyncElasticsearch, index: str, query: Mapping[str, Any], timeout_s: float
) -> int:
    """The stamp count once it stopped growing (stamps are written after the checkpoint)."""
    deadline = time.monotonic() + timeout_s
    last = -1
    while True:
        await client.indices.refresh(index=index)
        count = int((await client.count(index=index, query=query))["count"])
        if count == last or time.monotonic() > deadline:
            return count
        last = count
        await asyncio.sleep(SETTLE_S)


async def fetch_stamps(
    client: AsyncElasticsearch, index: str, since: float, until: float, timeout_s: float = 20.0
) -> list[dict[str, Any]]:
    """Every stamp of an event recorded in [since, until] (epoch seconds)."""
    query = {"range": {"recorded_at": {"gte": since, "lte": until}}}
    await settled_count(client, index, query, timeout_s)
    response = await client.search(index=index, query=query, size=PAGE, scroll="1m")
    scroll_id = response.get("_scroll_id")
    stamps: list[dict[str, Any]] = []
    try:
        while hits := response["hits"]["hits"]:
            stamps.extend(hit["_source"] for hit in hits)
            response = await client.scroll(scroll_id=scroll_id, scroll="1m")
            scroll_id = response.get("_scroll_id")
    finally:
        if scroll_id:
            await client.clear_scroll(scroll_id=scroll_id)
    return stamps
