"""The one place where a failed append's driver errors become our errors."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from system.domain.errors import ConcurrencyError, VersionGapError
from system.eventstore.idempotency import KEY_CONSTRAINT
from system.eventstore.pool import translating_unavailable
from system.ports import IdempotencyRecord, KeyTaken, StreamAppend

STREAM_VERSION_CONSTRAINT = "events_stream_version"

APPEND_FAILURES = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError, VersionGapError)
"""What an append's statement can fail with that `raise_translated` may turn into ours."""

_ACTUAL_VERSIONS = """
SELECT s.aggregate_id,
       COALESCE((SELECT max(version) FROM events e WHERE e.aggregate_id = s.aggregate_id), 0)
FROM unnest($1::text[]) AS s(aggregate_id)
"""


async def raise_translated(
    exc: BaseException,
    pool: asyncpg.Pool,
    streams: Sequence[StreamAppend],
    idempotency: IdempotencyRecord | None,
) -> None:
    """Raise our error for one of `APPEND_FAILURES`; return if it is none of ours to translate
    (the caller re-raises it). An outage while reading the streams' versions raises ours too.

    A duplicate (aggregate_id, version), a version gap or a deadlock means that another append
    to one of these streams won the race (`ConcurrencyError`); a duplicate idempotency key, that
    the command was answered already (`KeyTaken`). Appends lock their rows in aggregate-id
    order, so a deadlock should not happen; if it does, PostgreSQL has rolled this append back
    and a retry is safe.
    """
    if isinstance(exc, asyncpg.UniqueViolationError):
        if idempotency is not None and exc.constraint_name == KEY_CONSTRAINT:
            raise KeyTaken(idempotency.key) from exc
        if exc.constraint_name != STREAM_VERSION_CONSTRAINT:
            return
    with translating_unavailable():
        raise await conflict(pool, streams) from exc


async def conflict(pool: asyncpg.Pool, streams: Sequence[StreamAppend]) -> ConcurrencyError:
    """Read the streams' versions after a failed append and name the first that moved."""
    rows = await pool.fetch(_ACTUAL_VERSIONS, [s.aggregate_id for s in streams])
    actual = {row[0]: row[1] for row in rows}
    stale = [s for s in streams if actual[s.aggregate_id] != s.expected_version] or list(streams)
    first = stale[0]
    return ConcurrencyError(first.aggregate_id, first.expected_version, actual[first.aggregate_id])
