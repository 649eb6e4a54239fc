"""Rehydrate aggregates: the latest trusted snapshot plus the events after it, or a full replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from system.domain.aggregate import Aggregate
from system.domain.codec import decode_state, encode_state
from system.ports import EventStore, Snapshot

A = TypeVar("A", bound=Aggregate[Any])


@dataclass(frozen=True, slots=True)
class Rehydrated(Generic[A]):
    """An aggregate and how it was rebuilt: from which snapshot, with how many events after it."""

    aggregate: A
    snapshot_version: int
    """The version of the snapshot it started from; 0 when it replayed from the first event."""
    replayed_events: int
    """How many events the store returned after that snapshot (all of them without one)."""


class Repository:
    """Loads aggregates from an event store; snapshots are read only when enabled (every N)."""

    def __init__(self, store: EventStore, snapshot_every: int | None) -> None:
        self.store = store
        self.snapshot_every = snapshot_every

    async def load(
        self,
        cls: type[A],
        aggregate_id: str,
        *,
        until_version: int | None = None,
        until_time: datetime | None = None,
    ) -> A:
        """The aggregate now, or as it was at `until_version` / `until_time` (time travel)."""
        rehydrated = await self.rehydrate(
            cls, aggregate_id, until_version=until_version, until_time=until_time
        )
        return rehydrated.aggregate

    async def rehydrate(
        self,
        cls: type[A],
        aggregate_id: str,
        *,
        until_version: int | None = None,
        until_time: datetime | None = None,
    ) -> Rehydrated[A]:
        """`load`, reporting the snapshot used and how many events the store replayed after it.

        With snapshots on and no time-travel bound, the snapshot and the events after it come
        in one read (`load_latest`); an untrusted snapshot then costs a second, full replay.
        """
        if self.snapshot_every is not None and until_version is None and until_time is None:
            snapshot, events = await self.store.load_latest(aggregate_id)
            if snapshot is None or _trusted(snapshot, cls, None, None):
                aggregate = self._from(cls, aggregate_id, snapshot)
                snapshot_version = aggregate.version
                aggregate.apply_all(events)
                return Rehydrated(aggregate, snapshot_version, len(events))
        aggregate = cls(aggregate_id)
        if self.snapshot_every is not None:
            snapshot = await self.store.load_snapshot(aggregate_id)
            if snapshot is not None and _trusted(snapshot, cls, until_version, until_time):
                aggregate = self._from(cls, aggregate_id, snapshot)
        snapshot_version = aggregate.version
        events = await self.store.load_events(
            aggregate_id,
            after_version=snapshot_version,
            until_version=until_version,
            until_time=until_time,
        )
        aggregate.apply_all(events)
        return Rehydrated(aggregate, snapshot_version, len(events))

    @staticmethod
    def _from(cls: type[A], aggregate_id: str, snapshot: Snapshot | None) -> A:
        """The aggregate at `snapshot`, or before its first event."""
        if snapshot is None:
            return cls(aggregate_id)
        return cls(aggregate_id, decode_state(cls.state_type, snapshot.state), snapshot.version)

    def snapshot_due(self, aggregate: Aggregate[Any], new_version: int) -> bool:
        """Whether moving from `aggregate.version` to `new_version` crosses a multiple of N."""
        every = self.snapshot_every
        return every is not None and new_version // every > aggregate.version // every

    @staticmethod
    def snapshot(aggregate: Aggregate[Any]) -> Snapshot:
        return Snapshot(
            aggregate_id=aggregate.id,
            aggregate_type=aggregate.aggregate_type,
            version=aggregate.version,
            schema_version=aggregate.state_schema_version,
            state=encode_state(aggregate.state),
        )


def _trusted(
    snapshot: Snapshot,
    cls: type[Aggregate[Any]],
    until_version: int | None,
    until_time: datetime | None,
) -> bool:
    """A snapshot is used only at the current schema and not beyond the time-travel bound."""
    if snapshot.aggregate_type != cls.aggregate_type:
        return False
    if snapshot.schema_version != cls.state_schema_version:
        return False
    if until_version is not None and snapshot.version > until_version:
        return False
    return until_time is None or (snapshot.taken_at is not None and snapshot.taken_at <= until_time)
