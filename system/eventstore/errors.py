"""The one place where driver errors from an append become our errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg

from system.domain.errors import ConcurrencyError, VersionGapError
from system.ports import StreamAppend

STREAM_VERSION_CONSTRAINT = "events_stream_version"

_ACTUAL_VERSIONS = """
SELECT s.aggregate_id,
       COALESCE((SELECT max(version) FROM events e WHERE e.aggregate_id = s.aggregate_id), 0)
FROM unnest($1::text[]) AS s(aggregate_id)
"""


@asynccontextmanager
async def translating_append_errors(
    pool: asyncpg.Pool, streams: Sequence[StreamAppend]
) -> AsyncIterator[None]:
    """Turn a duplicate (aggregate_id, version), a version gap or a deadlock into
    `ConcurrencyError`: each means another append to one of these streams won the race."""
    try:
        yield
    except asyncpg.DeadlockDetectedError as exc:
        # Appends lock their rows in aggregate-id order, so this should not happen; if it
        # does, PostgreSQL has rolled this append back and a retry is safe.
        raise await conflict(pool, streams) from exc
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != STREAM_VERSION_CONSTRAINT:
            raise
        raise await conflict(pool, streams) from exc
    except VersionGapError as exc:
        raise await conflict(pool, streams) from exc


async def conflict(pool: asyncpg.Pool, streams: Sequence[StreamAppend]) -> ConcurrencyError:
    """Read the streams' versions after a failed append and name the first that moved."""
    rows = await pool.fetch(_ACTUAL_VERSIONS, [s.aggregate_id for s in streams])
    actual = {row[0]: row[1] for row in rows}
    stale = [s for s in streams if actual[s.aggregate_id] != s.expected_version] or list(streams)
    first = stale[0]
    return ConcurrencyError(first.aggregate_id, first.expected_version, actual[first.aggregate_id])
