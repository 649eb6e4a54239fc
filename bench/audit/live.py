"""What the audit reads from the live stack: streams from PostgreSQL, documents from
Elasticsearch (realtime `mget` through each read model's alias)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import asyncpg

from bench.audit.reference import Fields
from system.domain.recorded import RecordedEvent
from system.eventstore.postgres import recorded_from_row
from system.eventstore.stream_sql import COLUMNS
from system.readstore.elasticsearch import ElasticsearchReadStore

STREAM_BATCH = 500
MGET_BATCH = 500

_STREAMS = f"""
SELECT {COLUMNS} FROM events WHERE aggregate_id = ANY($1::text[]) ORDER BY aggregate_id, version
"""
_SINCE = "SELECT DISTINCT aggregate_id FROM events WHERE position > $1"


async def stream_ids_since(pool: asyncpg.Pool, since: int) -> list[str]:
    """Every stream with an event at a position above `since`."""
    return sorted(row[0] for row in await pool.fetch(_SINCE, since))


async def load_streams(pool: asyncpg.Pool, ids: Iterable[str]) -> dict[str, list[RecordedEvent]]:
    """The given streams, whole and in version order (empty for an id with no events)."""
    wanted = sorted(set(ids))
    streams: dict[str, list[RecordedEvent]] = {i: [] for i in wanted}
    for start in range(0, len(wanted), STREAM_BATCH):
        for row in await pool.fetch(_STREAMS, wanted[start : start + STREAM_BATCH]):
            event = recorded_from_row(row)
            streams[event.aggregate_id].append(event)
    return streams


async def live_docs(
    read_store: ElasticsearchReadStore, name: str, ids: Sequence[str]
) -> dict[str, Fields]:
    """The read model's current documents with these ids (absent ids are left out)."""
    docs: dict[str, Fields] = {}
    for start in range(0, len(ids), MGET_BATCH):
        docs.update(await read_store.mget(read_store.alias(name), ids[start : start + MGET_BATCH]))
    return docs
