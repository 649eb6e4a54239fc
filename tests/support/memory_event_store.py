"""MemoryEventStore: the EventStore port in plain dicts and lists, a twin for unit tests.

Written apart from `system/eventstore/postgres.py` (it shares only the port, the domain types
and the domain's codec), so that each passes the contract checks of
`tests/support/eventstore_contract.py` on its own reading of the port, not through shared code.

An append runs without an await between its version check and its write, so appends are
atomic and serialised by the event loop: no transaction is ever in flight between two awaits,
and `read_all` never has a late commit to wait for.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec

from system.domain.codec import decode_event, encode_event
from system.domain.errors import ConcurrencyError
from system.domain.events import Event
from system.domain.recorded import Metadata, RecordedEvent
from system.ports import (
    AppendResult,
    IdempotencyRecord,
    KeyTaken,
    Snapshot,
    StoredAnswer,
    StreamAppend,
)

TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class KeptAnswer:
    answer: StoredAnswer
    created_at: datetime


class MemoryEventStore:
    """Streams, the global log, snapshots and idempotency answers of one process."""

    def __init__(self) -> None:
        self._log: list[RecordedEvent] = []
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._answers: dict[str, KeptAnswer] = {}
        self._last_time = datetime.min.replace(tzinfo=UTC)

    def _now(self) -> datetime:
        """The wall clock, but strictly after every time handed out before: record times
        increase with positions, so a time-travel bound never splits one position's peers."""
        self._last_time = max(datetime.now(UTC), self._last_time + TICK)
        return self._last_time

    def _version(self, aggregate_id: str) -> int:
        return len(self._streams.get(aggregate_id, ()))

    async def append(
        self,
        streams: Sequence[StreamAppend],
        metadata: Metadata | None = None,
        *,
        snapshots: Sequence[Snapshot] = (),
        idempotency: IdempotencyRecord | None = None,
    ) -> AppendResult:
        names = [s.aggregate_id for s in streams]
        if len(set(names)) < len(names):
            raise ValueError(f"a stream appears twice in one append: {names}")
        if any(s.expected_version < 0 for s in streams):
            raise ValueError("expected_version must be >= 0")
        if not any(s.events for s in streams):
            raise ValueError("an append needs at least one event")
        for stream in streams:
            actual = self._version(stream.aggregate_id)
            if actual != stream.expected_version:
                raise ConcurrencyError(stream.aggregate_id, stream.expected_version, actual)
        if idempotency is not None and idempotency.key in self._answers:
            raise KeyTaken(idempotency.key)
        meta = metadata or Metadata()
        versions: dict[str, int] = {}
        for stream in streams:
            kept = self._streams.setdefault(stream.aggregate_id, [])
            for event in stream.events:
                self._log.append(self._record(stream, len(kept) + 1, event, meta))
                kept.append(self._log[-1])
            versions[stream.aggregate_id] = len(kept)
        result = AppendResult(versions=versions, position=len(self._log))
        for snapshot in snapshots:
            self._keep_snapshot(snapshot)
        if idempotency is not None:
            answer = StoredAnswer(
                request_hash=idempotency.request_hash,
                status=idempotency.status,
                body=idempotency.body(result.position),
            )
            self._answers[idempotency.key] = KeptAnswer(answer, datetime.now(UTC))
        return result

    def _record(
        self, stream: StreamAppend, version: int, event: Event, metadata: Metadata
    ) -> RecordedEvent:
        return RecordedEvent(
            event_id=str(uuid.uuid4()),
            aggregate_id=stream.aggregate_id,
            aggregate_type=stream.aggregate_type,
            version=version,
            position=len(self._log) + 1,
            event_type=event.type_name(),
            schema_version=event.schema_version,
            data=encode_event(event),
            metadata=metadata,
            recorded_at=self._now(),
        )

    async def load(
        self,
        aggregate_id: str,
        *,
        after_version: int = 0,
        until_version: int | None = None,
        until_time: datetime | None = None,
    ) -> list[RecordedEvent]:
        """A stream's events in version order; an `until_version` of 0 bounds nothing, like None."""
        return [
            e
            for e in self._streams.get(aggregate_id, ())
            if e.version > after_version
            and (not until_version or e.version <= until_version)
            and (until_time is None or e.recorded_at <= until_time)
        ]

    async def load_events(
        self,
        aggregate_id: str,
        *,
        after_version: int = 0,
        until_version: int | None = None,
        until_time: datetime | None = None,
    ) -> list[Event]:
        recorded = await self.load(
            aggregate_id,
            after_version=after_version,
            until_version=until_version,
            until_time=until_time,
        )
        return [decode_event(e.event_type, e.data) for e in recorded]

    async def load_event(self, aggregate_id: str, version: int) -> RecordedEvent | None:
        stream = self._streams.get(aggregate_id, [])
        return stream[version - 1] if 0 < version <= len(stream) else None

    async def read_all(self, after_position: int, limit: int) -> list[RecordedEvent]:
        return self._log[after_position : after_position + limit]

    async def follow(
        self, after_position: int, batch: int = 1000
    ) -> AsyncIterator[list[RecordedEvent]]:
        while events := await self.read_all(after_position, batch):
            yield events
            after_position = events[-1].position

    async def head_position(self) -> int:
        return len(self._log)

    async def commit_mark(self) -> int:
        """The number of events recorded so far: appends are atomic, so none is in flight."""
        return len(self._log)

    async def passed(self, mark: int) -> bool:
        return mark <= len(self._log)

    async def load_snapshot(self, aggregate_id: str) -> Snapshot | None:
        return self._snapshots.get(aggregate_id)

    async def load_latest(self, aggregate_id: str) -> tuple[Snapshot | None, list[Event]]:
        snapshot = self._snapshots.get(aggregate_id)
        after = 0 if snapshot is None else snapshot.version
        return snapshot, await self.load_events(aggregate_id, after_version=after)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        self._keep_snapshot(snapshot)

    def _keep_snapshot(self, snapshot: Snapshot) -> None:
        kept = self._snapshots.get(snapshot.aggregate_id)
        if kept is None or kept.version < snapshot.version:
            taken = msgspec.structs.replace(snapshot, taken_at=self._now())
            self._snapshots[snapshot.aggregate_id] = taken

    async def stored_answer(self, key: str) -> StoredAnswer | None:
        kept = self._answers.get(key)
        return None if kept is None else kept.answer

    async def prune_answers(self, keep_s: float) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=keep_s)
        old = [key for key, kept in self._answers.items() if kept.created_at < cutoff]
        for key in old:
            del self._answers[key]
        return len(old)
