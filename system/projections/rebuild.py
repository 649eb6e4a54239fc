"""Rebuild a read model from the event store into a fresh index, then swap the alias, live.

1. Create a new concrete index and replay every event of the projection's aggregate type
   (the event store port's `read_all`, in its followers' order, decoded) through the same
   batch fold the live projector uses (`fold.py`).
2. Catch up: take a commit mark X, read until the store has `passed` every transaction begun
   before X; repeat while a round still found much to do and less than the round before. A
   round that did not shrink means live traffic arrives about as fast as the rebuild folds
   (a busy machine): more rounds would never swap (one CI run spent 11 minutes on one read
   model this way), so it swaps then, and step 4's catch-up, bounded by its mark, finishes.
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
    ) -> None:
        self.events = events
        self.store = store
        self.projection = projection
        self.index = index
        self.cursor = 0
        self.applied = 0

    async def catch_up(self) -> int:
        """Apply every event committed before now; returns how many were applied."""
        mark = await self.events.commit_mark()
        applied = 0
        while True:
            batch = await self.events.read_all(self.cursor, BATCH)
            if batch:
                self.cursor = batch[-1].position
                applied += await self._apply(batch)
                continue
            if await self.events.passed(mark):
                self.applied += applied
                return applied
            await asyncio.sleep(0.01)

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
