"""PostgresOutbox: the relay's side of the transactional outbox, and its publish watermark.

The relay claims unpublished rows in position order (joined with their events), publishes
them, and only then marks them published. One relay works at a time: it holds a session-level
advisory lock on a dedicated connection, so a second instance waits on that lock (a hot
standby) and takes over when the first dies; SKIP LOCKED would instead let two relays publish
one aggregate's events in parallel and break per-aggregate order. The same connection LISTENs
on `cqrs_outbox`, which every append NOTIFYs.

`watermark()` returns W such that every event with position <= W is committed (or rolled back)
and published. Positions come from a sequence before the appending transaction commits, so a
position can still be in flight after higher ones are visible. The bound used: read the
sequence (S) and then the clock (t); once no client transaction of this database that
started at or before t is still open, every position <= S is final. This needs the identity
sequence's default CACHE 1, and sees other roles' transactions only as superuser or with
pg_read_all_stats (the application role writes the events, so its own sessions suffice). Like
the xid8 follower, a transaction left open holds the watermark back until it ends.

Lag stamps: a claim also reads each event's commit time, `pg_xact_commit_timestamp(xmin)` of
its row (null unless the server runs with `track_commit_timestamp = on`; the private cluster
does), and marking records, per row, when Kafka acknowledged it (`published_at`, the relay's
clock at the delivery callback), which is where the lag report finds the ack time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg

from system.domain.recorded import RecordedEvent
from system.eventstore.postgres import recorded_from_row
from system.eventstore.stream_sql import COLUMNS

RELAY_LOCK = 0x72656C61  # "rela": one outbox relay at a time
CHANNEL = "cqrs_outbox"
LOCK_RETRY_S = 0.5

CLAIM = f"""
SELECT {COLUMNS}, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 FROM events
WHERE position IN (
    SELECT position FROM outbox WHERE published_at IS NULL ORDER BY position LIMIT $1
)
ORDER BY position
"""
MARK = """
UPDATE outbox AS o SET published_at = to_timestamp(a.acked)
FROM unnest($1::bigint[], $2::float8[]) AS a(position, acked)
WHERE o.position = a.position
"""
ACKED = """
SELECT position, extract(epoch FROM published_at)::float8 FROM outbox
WHERE position = ANY($1::bigint[]) AND published_at IS NOT NULL
"""
BACKLOG = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
MIN_UNPUBLISHED = "SELECT min(position) FROM outbox WHERE published_at IS NULL"
SEQUENCE_AND_CLOCK = """
SELECT CASE WHEN is_called THEN last_value ELSE 0 END, clock_timestamp()
FROM events_position_seq
"""
OLDEST_OPEN = """
SELECT min(xact_start) FROM pg_stat_activity
WHERE backend_type = 'client backend' AND datname = current_database()
  AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
"""


class Claimed(NamedTuple):
    """A claimed event and its commit time (epoch seconds; None without commit timestamps)."""

    event: RecordedEvent
    committed_at: float | None


async def acked_at(pool: asyncpg.Pool, positions: Sequence[int]) -> dict[int, float]:
    """Position -> when Kafka acknowledged that event (epoch seconds), for published rows."""
    rows = await pool.fetch(ACKED, list(positions))
    return {row[0]: row[1] for row in rows}


class PostgresOutbox:
    """Claim, mark and measure the outbox; compute the publish watermark."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._pending: list[tuple[int, datetime]] = []
        self._safe_head = 0
        self._watermark = 0

    async def claim(self, limit: int) -> list[Claimed]:
        """The oldest unpublished events, in position order, with their commit times."""
        rows = await self.pool.fetch(CLAIM, limit)
        return [Claimed(recorded_from_row(row), row[-1]) for row in rows]

    async def mark_published(self, positions: Sequence[int], acked: Sequence[float]) -> None:
        """Mark rows published, each with the time Kafka acked it (epoch seconds)."""
        await self.pool.execute(MARK, list(positions), list(acked))

    async def backlog(self) -> int:
        count: int = await self.pool.fetchval(BACKLOG)
        return count

    async def watermark(self) -> int:
        """The highest W with every event at position <= W committed and published."""
        sequence, clock = await self.pool.fetchrow(SEQUENCE_AND_CLOCK)
        self._pending.append((sequence, clock))
        oldest: datetime | None = await self.pool.fetchval(OLDEST_OPEN)
        still_open = []
        for candidate in self._pending:
            if oldest is None or oldest > candidate[1]:
                self._safe_head = max(self._safe_head, candidate[0])
            else:
                still_open.append(candidate)
        self._pending = still_open
        lowest: int | None = await self.pool.fetchval(MIN_UNPUBLISHED)
        bound = self._safe_head if lowest is None else min(self._safe_head, lowest - 1)
        self._watermark = max(self._watermark, bound)
        return self._watermark

    async def lead(
        self, dsn: str, on_notify: Callable[[], None], stop: asyncio.Event
    ) -> asyncpg.Connection | None:
        """A connection holding the relay lock and listening on the outbox channel.

        Waits (checking every `LOCK_RETRY_S`) while another relay holds the lock; None if
        `stop` is set first. Closing the connection gives the lock up. The connection's
        application_name is `cqrs-relay <pid>`, so `pg_stat_activity` shows who leads.
        """
        conn: asyncpg.Connection = await asyncpg.connect(
            dsn, server_settings={"application_name": f"cqrs-relay {os.getpid()}"}
        )
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LOCK_RETRY_S):
                        await stop.wait()
                if stop.is_set():
                    await conn.close()
                    return None

            def notified(*_: Any) -> None:
                on_notify()

            await conn.add_listener(CHANNEL, notified)
        except BaseException:
            await conn.close()
            raise
        return conn
