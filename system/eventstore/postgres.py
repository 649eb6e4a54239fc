"""PostgresEventStore: the EventStore port on asyncpg.

An append is one statement (one round trip, one implicit transaction) of `append_sql`, whose
docstring says what it guarantees and why it is built so, with figures. Followers read in
(tx_id, position) order below the oldest running transaction (`READ_ALL`), so a transaction
that commits late is never skipped.

Outages: every statement runs on a `Lease` of a pooled connection, awaited at most
`acquire_timeout_s` (`system/eventstore/pool.py`, with the pool options that bound every other
wait), so an outage leaves the adapter as `DependencyUnavailable`.
"""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from system.domain.codec import decode_events, decode_stream, encode_event
from system.domain.errors import VersionGapError
from system.domain.events import Event
from system.domain.recorded import Metadata, RecordedEvent
from system.eventstore.append_sql import (
    APPEND,
    APPEND_EVENTS,
    APPEND_EVENTS_KEYED,
    APPEND_KEYED,
    APPEND_ONE,
    APPEND_ONE_KEYED,
)
from system.eventstore.errors import APPEND_FAILURES, raise_translated
from system.eventstore.idempotency import (
    key_arguments,
    lookup,
    prune,
)
from system.eventstore.pool import (
    STORE_SERVER_SETTINGS,
    Lease,
    keep_session,
)
from system.eventstore.stream_sql import (
    HEAD,
    LOAD,
    LOAD_EVENT,
    LOAD_LATEST,
    LOAD_PAYLOADS,
    LOAD_SNAPSHOT,
    MAX_VERSION,
    NEXT_XID,
    OLDEST_XID,
    READ_ALL,
    REPLAY,
    REPLAY_PAGE,
    REPLAY_UNTIL,
    SAVE_SNAPSHOT,
)
from system.ports import (
    AppendResult,
    IdempotencyRecord,
    Snapshot,
    StoredAnswer,
    StreamAppend,
)

_metadata_decoder = msgspec.json.Decoder(Metadata)
_metadata_encoder = msgspec.json.Encoder()

_by_aggregate_id = operator.attrgetter("aggregate_id")


class PostgresEventStore:
    """The event store on one asyncpg pool (the caller owns the pool unless built by `open`)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        owns_pool: bool = False,
        acquire_timeout_s: float | None = None,
    ) -> None:
        self.pool = pool
        self._owns_pool = owns_pool
        self.acquire_timeout_s = acquire_timeout_s

    @classmethod
    async def open(cls, dsn: str, *, min_size: int = 2, max_size: int = 20) -> PostgresEventStore:
        """A store with its own pool; `close()` it when done."""
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            reset=keep_session,
            server_settings=dict(STORE_SERVER_SETTINGS),
        )
        return cls(pool, owns_pool=True)

    def connection(self) -> Lease:
        """A pooled connection, awaited at most `acquire_timeout_s`; outages raise ours."""
        return Lease(self.pool, self.acquire_timeout_s)

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        async with self.connection() as conn:
            rows: list[Any] = await conn.fetch(query, *args)
            return rows

    async def _fetchrow(self, query: str, *args: Any) -> Any:
        async with self.connection() as conn:
            return await conn.fetchrow(query, *args)

    async def _fetchval(self, query: str, *args: Any) -> Any:
        async with self.connection() as conn:
            return await conn.fetchval(query, *args)

    async def close(self) -> None:
        if self._owns_pool:
            await self.pool.close()

    async def append(
        self,
        streams: Sequence[StreamAppend],
        metadata: Metadata | None = None,
        *,
        snapshots: Sequence[Snapshot] = (),
        recorded_at: datetime | None = None,
        idempotency: IdempotencyRecord | None = None,
    ) -> AppendResult:
        """Append atomically to one or more streams in one statement.

        `snapshots` are written only if the events commit; `recorded_at` backfills history
        (imports, tests, benchmarks) and is never set by command handlers; `idempotency` stores
        the answer under its key in the same statement (`KeyTaken` if the key is used).
        """
        args: tuple[Any, ...]
        ids: list[str] = []
        types: list[str] = []
        versions: list[int] = []
        event_types: list[str] = []
        schemas: list[int] = []
        payloads: list[str] = []
        new_versions: dict[str, int] = {}
        # Rows go in aggregate-id order: two appends that share streams then take their row
        # locks in the same order, so they queue instead of deadlocking.
        for stream in sorted(streams, key=_by_aggregate_id):
            if stream.aggregate_id in new_versions:
                raise ValueError(f"stream {stream.aggregate_id!r} appears twice in one append")
            if stream.expected_version < 0:
                raise ValueError(f"expected_version must be >= 0, got {stream.expected_version}")
            version = stream.expected_version
            for event in stream.events:
                version += 1
                ids.append(stream.aggregate_id)
                types.append(stream.aggregate_type)
                versions.append(version)
                event_types.append(event.type_name())
                schemas.append(event.schema_version)
                payloads.append(encode_event(event).decode())
            new_versions[stream.aggregate_id] = version
        if not ids:
            raise ValueError("an append needs at least one event")
        meta = _metadata_encoder.encode(metadata or Metadata()).decode()
        if len(streams) == 1 and len(ids) == 1 and not snapshots:
            statement = APPEND_ONE
            args = (ids[0], types[0], versions[0], event_types[0], schemas[0], payloads[0])
            args += (meta, recorded_at)
            if idempotency is not None:
                statement = APPEND_ONE_KEYED
                args += key_arguments(idempotency)
            return await self._append(statement, args, streams, idempotency, new_versions)
        guarded = [s for s in streams if s.expected_version > 0]
        args = (
            ids,
            types,
            versions,
            event_types,
            schemas,
            payloads,
            meta,
            recorded_at,
            [s.aggregate_id for s in guarded],
            [s.expected_version for s in guarded],
        )
        statement = APPEND_EVENTS
        if snapshots:
            statement = APPEND
            snapshots = sorted(snapshots, key=_by_aggregate_id)
            args += (
                [s.aggregate_id for s in snapshots],
                [s.aggregate_type for s in snapshots],
                [s.version for s in snapshots],
                [s.schema_version for s in snapshots],
                [s.state.decode() for s in snapshots],
            )
        if idempotency is not None:
            statement = APPEND_KEYED if snapshots else APPEND_EVENTS_KEYED
            args += key_arguments(idempotency)
        return await self._append(statement, args, streams, idempotency, new_versions)

    async def _append(
        self,
        statement: str,
        args: tuple[Any, ...],
        streams: Sequence[StreamAppend],
        idempotency: IdempotencyRecord | None,
        new_versions: dict[str, int],
    ) -> AppendResult:
        try:
            position = await self._fetchval(statement, *args)
            if position is None:
                raise VersionGapError("an expected version was not (yet) committed")
        except APPEND_FAILURES as exc:
            await raise_translated(exc, self.pool, streams, idempotency)
            raise
        return AppendResult(versions=new_versions, position=position)

    async def load(
        self,
        aggregate_id: str,
        *,
        after_version: int = 0,
        until_version: int | None = None,
        until_time: datetime | None = None,
    ) -> list[RecordedEvent]:
        rows = await self._fetch(
            LOAD, aggregate_id, after_version, until_version or MAX_VERSION, until_time
        )
        return [recorded_from_row(row) for row in rows]

    async def load_events(
        self,
        aggregate_id: str,
        *,
        after_version: int = 0,
        until_version: int | None = None,
        until_time: datetime | None = None,
    ) -> list[Event]:
        """The stream's events, decoded a page of `REPLAY_PAGE` versions per statement.

        Each page comes as one JSON array that msgspec decodes in one call straight into the
        event types (`decode_stream`): no row objects, no per-event Python call, and since each
        stored payload carries its type's tag, no per-row work in PostgreSQL either. Replaying
        10,000 events (quick suite, paired rounds on the shared 2-core machine): 0.82 of the raw
        fetch of the same rows, where splicing the tag in per row in SQL gave 0.42-0.50 (it cost
        PostgreSQL 2.2 ms of the 6 ms); decode 0.8 ms and the fold 0.7 ms come on top of the
        fetch. At 100,000 events it matches the raw fetch, which builds a driver record per row.
        Pages stop at the stream's last version as the first statement saw it; every version
        below it had committed then (an append needs its predecessor committed), so later pages
        see them.
        """
        events: list[Event] = []
        last = until_version or MAX_VERSION
        while after_version < last:
            upto = min(last, after_version + REPLAY_PAGE)
            page, head = await self._replay_page(aggregate_id, after_version, upto, until_time)
            events += page
            last = min(last, head or 0)
            after_version = upto
        return events

    async def load_latest(self, aggregate_id: str) -> tuple[Snapshot | None, list[Event]]:
        """The stream's snapshot, if any, and every event after it (the whole stream without
        one): the first page comes in the same statement as the snapshot (`LOAD_LATEST`)."""
        row = await self._fetchrow(LOAD_LATEST, aggregate_id, REPLAY_PAGE)
        snapshot = None if row["aggregate_id"] is None else snapshot_from_row(row)
        payloads, head = row["payloads"], row["head"]
        after = 0 if snapshot is None else snapshot.version
        upto = after + REPLAY_PAGE
        events = list(await self._decoded_page(payloads, aggregate_id, after, upto, None))
        if (head or 0) > upto:
            events += await self.load_events(aggregate_id, after_version=upto, until_version=head)
        return snapshot, events

    async def _replay_page(
        self, aggregate_id: str, after: int, upto: int, until_time: datetime | None
    ) -> tuple[Sequence[Event], int | None]:
        if until_time is None:
            row = await self._fetchrow(REPLAY, aggregate_id, after, upto)
        else:
            row = await self._fetchrow(REPLAY_UNTIL, aggregate_id, after, upto, until_time)
        return await self._decoded_page(row[0], aggregate_id, after, upto, until_time), row[1]

    async def _decoded_page(
        self,
        payloads: str,
        aggregate_id: str,
        after: int,
        upto: int,
        until_time: datetime | None,
    ) -> Sequence[Event]:
        try:
            return decode_stream(payloads)
        except msgspec.DecodeError:
            # A payload stored without its tag (before encode_event wrote one) or with a
            # type no code knows: decoded row by row, which names an unknown type and checks
            # a tag against its row's type.
            rows = await self._fetch(LOAD_PAYLOADS, aggregate_id, after, upto, until_time)
            return decode_events(rows)

    async def load_event(self, aggregate_id: str, version: int) -> RecordedEvent | None:
        row = await self._fetchrow(LOAD_EVENT, aggregate_id, version)
        return None if row is None else recorded_from_row(row)

    async def read_all(self, after_position: int, limit: int) -> list[RecordedEvent]:
        """Committed events after `after_position` (0 or a position this store returned)."""
        rows = await self._fetch(READ_ALL, after_position, limit)
        return [recorded_from_row(row) for row in rows]

    async def follow(
        self, after_position: int, batch: int = 1000
    ) -> AsyncIterator[list[RecordedEvent]]:
        while events := await self.read_all(after_position, batch):
            yield events
            after_position = events[-1].position
            if len(events) < batch:
                return

    async def head_position(self) -> int:
        position: int | None = await self._fetchval(HEAD)
        return position or 0

    async def commit_mark(self) -> int:
        """The next transaction id: every transaction begun so far is below it."""
        mark: int = await self._fetchval(NEXT_XID)
        return mark

    async def passed(self, mark: int) -> bool:
        return bool(await self._fetchval(OLDEST_XID) >= mark)

    async def load_snapshot(self, aggregate_id: str) -> Snapshot | None:
        row = await self._fetchrow(LOAD_SNAPSHOT, aggregate_id)
        return None if row is None else snapshot_from_row(row)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        async with self.connection() as conn:
            await conn.execute(
                SAVE_SNAPSHOT,
                snapshot.aggregate_id,
                snapshot.aggregate_type,
                snapshot.version,
                snapshot.schema_version,
                snapshot.state.decode(),
            )

    async def stored_answer(self, key: str) -> StoredAnswer | None:
        return await lookup(self, key)

    async def prune_answers(self, keep_s: float) -> int:
        return await prune(self, keep_s)


def recorded_from_row(row: Any) -> RecordedEvent:
    """A `RecordedEvent` from a row selected as `COLUMNS` (event store and outbox alike)."""
    return RecordedEvent(
        event_id=row[0],
        aggregate_id=row[1],
        aggregate_type=row[2],
        version=row[3],
        position=row[4],
        event_type=row[5],
        schema_version=row[6],
        data=row[7].encode(),
        metadata=_metadata_decoder.decode(row[8]),
        recorded_at=row[9],
    )


def snapshot_from_row(row: Any) -> Snapshot:
    """A `Snapshot` from a row that starts with `SNAPSHOT_COLUMNS`."""
    return Snapshot(
        aggregate_id=row[0],
        aggregate_type=row[1],
        version=row[2],
        schema_version=row[3],
        state=row[4].encode(),
        taken_at=row[5],
    )
