"""Rebuild a read model from the event store into a fresh index, then swap the alias, live.

1. Create a new concrete index and replay every event of the projection's aggregate type
   (the event store port's `read_all`, in its followers' order, decoded) through the same
   batch fold the live projector uses (`fold.py`).
2. Catch up in rounds. A round takes a commit mark X, waits until the store has `passed` every
   transaction begun before X, takes the head H then (the last event `read_all` may return, in
   its order), and reads until the batch holding H: events after H (but the rest of that batch)
   wait for the next round, so a round ends even while traffic never pauses (read until an
   empty read, one chased live traffic for 14 minutes on a busy CI box). Rounds go on while a
   round still found much to do and less than the round before; one that did not shrink means
   live traffic arrives about as fast as the rebuild folds, so it swaps then, and step 4's round
   finishes.
3. Swap the alias atomically (remove old, add new): the live projector now writes here.
4. Final catch-up the same way, from X taken just after the swap: everything the live
   projector may have written only to the old index in the meantime is re-applied. External
   versioning makes both writers harmless to each other (an older or equal version is refused).

Between 3 and 4 (milliseconds) the new index can miss events the old one had, so for that
moment the checkpoint may overstate it; the live projector, meeting a version it cannot follow
yet, waits for the catch-up instead of failing (`BatchWriter.gap_patience_s`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from system.bootstrap import open_event_store, open_read_store
from system.config import Settings
from system.domain.codec import decode_recorded
from system.domain.recorded import RecordedEvent
from system.ports import EventStore, ProjectionStore, ReadModelAdmin
from system.projections import PROJECTIONS, Projection
from system.projections.fold import Arrival, fold_batch

BATCH = 5000
SETTLED = 1000
"""A catch-up round that applied fewer events than this is close enough to swap."""


@dataclass
class RebuildReport:
    """What a rebuild did."""

    name: str
    index: str
    replaced: list[str] = field(default_factory=list)
    events: int = 0
    docs: int = 0
    rounds: int = 0
    seconds: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class Rebuilder:
    """Folds the event store into one index, tracking where it is in the follower's order."""

    def __init__(
        self,
        events: EventStore,
        store: ProjectionStore,
        projection: Projection,
        index: str,
        batch: int = BATCH,
    ) -> None:
        self.events = events
        self.store = store
        self.projection = projection
        self.index = index
        self.batch = batch
        self.cursor = 0
        self.applied = 0

    async def catch_up(self) -> int:
        """Apply every event of the transactions begun before now, reading no further than the
        batch that holds the head taken once they had all ended (step 2); returns how many were
        applied."""
        mark = await self.events.commit_mark()
        while True:  # the store is polled: a transaction's end is not announced
            if await self.events.passed(mark):
                break
            await asyncio.sleep(0.01)
        head = await self.events.head_position()
        applied = 0
        while head and self.cursor != head:
            batch = await self.events.read_all(self.cursor, self.batch)
            if not batch:
                break
            self.cursor = batch[-1].position
            applied += await self._apply(batch)
            if any(event.position == head for event in batch):
                break
        self.applied += applied
        return applied

    async def _apply(self, batch: Sequence[RecordedEvent]) -> int:
        streams: dict[str, list[Arrival]] = {}
        kind = self.projection.aggregate_type
        for event in batch:
            if event.aggregate_type == kind:
                streams.setdefault(event.aggregate_id, []).append(Arrival(decode_recorded(event)))
        if not streams:
            return 0
        current = await self.store.mget(self.index, list(streams))
        applied = fold_batch(self.projection, current, streams)
        await self.store.bulk_versioned(self.index, applied.docs)
        return len(applied.events)


def settled(applied: int, previous: int | None) -> bool:
    """Whether to swap after a catch-up round that applied `applied` events, `previous` the
    round before's: close enough, or not getting closer (see the module docstring)."""
    return applied < SETTLED or (previous is not None and applied >= previous)


async def rebuild(
    settings: Settings, name: str, *, swap: bool = True, projection: Projection | None = None
) -> RebuildReport:
    """Rebuild `name` into a fresh index; with `swap`, put it behind the alias while live.

    `projection` is the one a running projector folds with (default: the registered one), so a
    projector's own repair rebuilds with its own folds."""
    projection = projection or PROJECTIONS[name]
    started = time.perf_counter()
    store: ReadModelAdmin = open_read_store(settings)
    events = await open_event_store(settings, min_size=1, max_size=2)
    try:
        await store.ensure([name])
        index = await store.create_index(name)
        rebuilder = Rebuilder(events, store, projection, index)
        report = RebuildReport(name=name, index=index)
        previous: int | None = None
        while True:
            report.rounds += 1
            applied = await rebuilder.catch_up()
            if settled(applied, previous):
                break
            previous = applied
        if swap:
            await store.refresh(index)
            report.replaced = await store.swap_alias(name, index)
            report.rounds += 1
            await rebuilder.catch_up()
        await store.refresh(index)
        report.events = rebuilder.applied
        report.docs = await store.count(index)
        report.seconds = time.perf_counter() - started
        return report
    finally:
        await events.close()
        await store.close()
