"""Positioning a projector's partitions: a projection never silently skips events Kafka
deleted before it read them.

This is the one place a projector partition gets its position. The group consumer runs with
`auto_offset_reset="none"` and the rebalance listener (`system/projections/rebalance.py`)
hands every newly assigned partition to `resume_or_rebuild`, which first *holds* it — pauses
it and parks it at a placeholder offset, before anything awaits: aiokafka resolves a position
for a partition that has none even while it is paused (its fetcher checks the position before
the pause), which without the placeholder raised `NoOffsetForPartitionError` for a group with
no committed offset. It then compares the group's committed offset with the partition's log
start offset (`plan_resume`):

- committed >= log start: resume at the committed offset;
- no committed offset and a log starting at 0: a new group, resume at 0;
- committed < log start, or no committed offset and a log start > 0: a *gap* — the group
  lost events it never saw (a projector down longer than the retention, or a new group on a
  topic whose head was deleted). The gap is logged and counted
  (`cqrs_projection_retention_gaps_total`), the read model is rebuilt from the event store
  (`system/projections/rebuild.py`, an alias swap), the new offsets are committed (a restart
  does not rebuild again) and the partition resumes at its log start (what is left in Kafka
  is at most redelivered, which the versioned writes ignore).

A partition is resumed only once positioned: those without a gap at once, those with one once
it is repaired (the rebuild is live, so the others keep projecting meanwhile). Positioning that
fails (a dependency down) is retried in the background with capped backoff while the partition
stays held. A gap that opens
while the projector runs surfaces as `OffsetOutOfRangeError`, which ends the process (never a
reset past it); its restart finds the gap here.

The rebuild runs in the background, never inside the rebalance listener: a listener that takes
longer than the group's session gets its member evicted, its commits refused and the partitions
assigned again with the old committed offsets, so the gap would be found and rebuilt forever.

One rebuild across instances (`system/projections/rebuild_lock.py`): every instance that finds
a gap on its partitions takes the projection's rebuild lock (a PostgreSQL advisory lock) before
rebuilding, and rebuilds only if, once it holds the lock, the gap is still there by all three
markers:

- the alias still points where it pointed before the instance read the offsets it found the
  gap in. If it moved meanwhile, another instance's rebuild swapped it after that, and that
  rebuild's final catch-up (taken after its swap) covers every event published before;
- the group's committed offsets are still below the log starts. A rebuilder commits the log
  starts of the gap partitions it owns before it releases the lock, so an instance that read
  the alias after another's swap but the offsets before its commit (the race that rebuilt
  twice when two instances joined together) finds the commit under the lock;
- the live index does not cover the gap partitions' current log starts. A rebuilder reads the
  log starts of every partition of the topic before it rebuilds and records them on the index
  it rebuilt (`system/readstore/coverage.py`) before it releases the lock. The commit marker
  says nothing of a partition the rebuilder did not own, so a waiter that read the alias after
  the swap and holds such a partition (the race that still rebuilt twice in CI) finds the
  record instead.

A waiter that finds any marker only positions its partitions. No state is kept beside the
read model (whose index's mapping holds the record) and the group's offsets. A lock rather
than scoping the repair to the gap's aggregates: the partitioner (murmur2 over the key) would
have to be replayed over the whole event store by every instance anyway, and the rebuild with
its live alias swap is the one repair already proven against the live projector. Should the
log start move on during a rebuild (or past what a rebuild covered), the partition is rebuilt
again.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

from aiokafka import TopicPartition

from system.bootstrap import open_read_store
from system.config import Settings
from system.metrics import PROJECTION_RETENTION_GAPS
from system.projections.base import Projection
from system.projections.rebuild import rebuild
from system.projections.rebuild_lock import rebuild_lock
from system.readstore.coverage import covered_starts, covers, partition_key, record_covered
from system.readstore.elasticsearch import ElasticsearchReadStore
from system.resilience import Backoff

log = logging.getLogger(__name__)

K = TypeVar("K")

PLACEHOLDER = 0
"""Where a held partition is parked until positioned; it is paused, so never fetched there."""


def plan_resume(
    committed: Mapping[K, int | None], starts: Mapping[K, int]
) -> tuple[dict[K, int], dict[K, tuple[int, int]]]:
    """(where each partition resumes, the gaps: partition -> (committed, log start)).

    No committed offset counts as 0: a new group on a log starting at 0 reads from the first
    message; on a log starting later it has lost the deleted head, a gap like any other.
    """
    resume: dict[K, int] = {}
    gaps: dict[K, tuple[int, int]] = {}
    for key, start in starts.items():
        offset = committed.get(key) or 0
        if offset < start:
            gaps[key] = (offset, start)
        resume[key] = max(offset, start)
    return resume, gaps


class RetentionGuard:
    """Positions one projection's newly assigned partitions; repairs a retention gap."""

    def __init__(
        self, settings: Settings, projection: Projection, consumer: Any, topic: str
    ) -> None:
        self.settings = settings
        self.projection = projection
        self.name = projection.name
        self.consumer = consumer
        self.topic = topic
        self.waiting: set[TopicPartition] = set()
        """Held partitions the background task will position."""
        self.covered: dict[TopicPartition, int] = {}
        """Per partition, the log start a finished rebuild covered everything below."""
        self.task: asyncio.Task[None] | None = None

    async def assigned(self, partitions: Sequence[int]) -> int:
        """Hold the assigned `partitions` and position them; those with a gap no finished
        rebuild covers stay held while the background task repairs it. Returns how many."""
        tps = {TopicPartition(self.topic, p) for p in partitions}
        self._hold(tps)
        self.waiting = (self.waiting | tps) & self.consumer.assignment()
        if self.task is not None and not self.task.done():
            return 0  # the running task positions them too
        try:
            gaps, _ = await self._position_held()
        except Exception as exc:
            log.warning("%s: positioning %s failed (%s); retrying", self.name, _tps(tps), exc)
            gaps = {}
        if self.waiting:
            self.task = asyncio.create_task(self._settle())
        return len(gaps)

    def _hold(self, tps: Collection[TopicPartition]) -> None:
        """Pause and park `tps` (synchronously: see the module docstring)."""
        self.consumer.pause(*tps)
        for tp in tps:
            self.consumer.seek(tp, PLACEHOLDER)

    async def _offsets(
        self, tps: Collection[TopicPartition]
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, tuple[int, int]]]:
        """`plan_resume` of the group's committed offsets against the log starts, as of now."""
        starts: dict[TopicPartition, int] = await self.consumer.beginning_offsets(list(tps))
        committed = {tp: await self.consumer.committed(tp) for tp in tps}
        return plan_resume(committed, starts)

    def _uncovered(
        self, gaps: Mapping[TopicPartition, tuple[int, int]]
    ) -> dict[TopicPartition, tuple[int, int]]:
        return {tp: gap for tp, gap in gaps.items() if gap[1] > self.covered.get(tp, -1)}

    async def _position_held(self) -> tuple[dict[TopicPartition, tuple[int, int]], list[str]]:
        """Position every held partition but those with a gap no finished rebuild covers;
        returns those gaps (partition -> (committed, log start)) and, when there are any, the
        indices the alias pointed to before the offsets they were found in were read."""
        owned = self.waiting & self.consumer.assignment()
        resume, gaps = await self._offsets(owned)
        alias: list[str] = []
        if self._uncovered(gaps):
            alias = await self._aliased()
            resume, gaps = await self._offsets(owned)
        uncovered = self._uncovered(gaps)
        ready = {tp: offset for tp, offset in resume.items() if tp not in uncovered}
        covered = {tp: ready[tp] for tp in gaps if tp in ready}
        if covered:
            await self.consumer.commit(covered)  # so a restart does not rebuild again
        for tp, offset in ready.items():
            self.consumer.seek(tp, offset)
        self.waiting -= set(ready)
        self.consumer.resume(*ready)
        return uncovered, alias

    async def _aliased(self) -> list[str]:
        store = open_read_store(self.settings)
        try:
            return await store.aliased_indices(self.name)
        finally:
            await store.close()

    def _report(self, gaps: Mapping[TopicPartition, tuple[int, int]]) -> None:
        for tp, (offset, start) in sorted(gaps.items()):
            log.error(
                "%s: retention gap on %s[%d]: committed offset %d is below the log start"
                " offset %d (%d unread messages deleted); rebuilding from the event store",
                self.name,
                tp.topic,
                tp.partition,
                offset,
                start,
                start - offset,
            )
        PROJECTION_RETENTION_GAPS.labels(self.name).inc(len(gaps))

    async def _settle(self) -> None:
        """Until every held partition still ours is positioned: position what needs no
        rebuild, rebuild for the rest; a failure waits out a backoff and tries again."""
        delays = Backoff()
        while True:
            self.waiting &= self.consumer.assignment()
            if not self.waiting:
                return
            try:
                gaps, alias = await self._position_held()
                if gaps:
                    self._report(gaps)
                    await self._rebuild_once({tp: start for tp, (_, start) in gaps.items()}, alias)
                delays.reset()
            except Exception:
                log.exception("%s: positioning after a retention gap failed; retrying", self.name)
                await asyncio.sleep(delays.next())

    async def _rebuild_once(self, starts: Mapping[TopicPartition, int], before: list[str]) -> None:
        """Make sure a rebuild that finished after the gaps at `starts` were found covers them:
        ours, or another instance's (see the module docstring). `before`: the aliased indices
        read before the offsets the gaps were found in."""
        store = open_read_store(self.settings)
        try:
            async with rebuild_lock(self.settings, self.name):
                now = await store.aliased_indices(self.name)
                if before and now != before:
                    log.warning(
                        "%s: another instance rebuilt into %s meanwhile; resuming at the log"
                        " start offsets",
                        self.name,
                        ", ".join(now),
                    )
                elif not (gaps := (await self._offsets(list(starts)))[1]):
                    log.warning(
                        "%s: another instance rebuilt and committed past the gap meanwhile;"
                        " resuming at the log start offsets",
                        self.name,
                    )
                elif covers(
                    await covered_starts(store, self.name),
                    _keyed({tp: start for tp, (_, start) in gaps.items()}),
                ):
                    log.warning(
                        "%s: the live index %s covers the gap (another instance rebuilt it);"
                        " resuming at the log start offsets",
                        self.name,
                        ", ".join(now),
                    )
                else:
                    await self._rebuild(store, await self._all_starts(starts))
                    await self._commit_owned(starts)
        finally:
            await store.close()
        self.covered.update(starts)

    async def _all_starts(self, gaps: Collection[TopicPartition]) -> dict[TopicPartition, int]:
        """The log starts of every partition of the topic (at least of the `gaps`), as of now."""
        known = self.consumer.partitions_for_topic(self.topic) or set()
        tps = {TopicPartition(self.topic, p) for p in known} | set(gaps)
        starts: dict[TopicPartition, int] = await self.consumer.beginning_offsets(list(tps))
        return starts

    async def _rebuild(
        self, store: ElasticsearchReadStore, starts: Mapping[TopicPartition, int]
    ) -> None:
        """Rebuild, record that the new index covers `starts` (the log starts read before the
        rebuild began), drop the replaced indices, then say so: the log line is true when
        read."""
        report = await rebuild(self.settings, self.name, projection=self.projection)
        await record_covered(store, report.index, _keyed(starts))
        for index in report.replaced:
            await store.delete_index(index)
        log.warning(
            "%s: rebuilt into %s (%d events, %d docs, %.1fs), dropped %s (it had"
            " the gap); resuming at the log start offsets",
            self.name,
            report.index,
            report.events,
            report.docs,
            report.seconds,
            ", ".join(report.replaced) or "no index",
        )

    async def _commit_owned(self, starts: Mapping[TopicPartition, int]) -> None:
        """Commit the log starts the rebuild covered, of the partitions still ours, before the
        lock is released: the marker another instance checks under the lock."""
        owned = {tp: start for tp, start in starts.items() if tp in self.consumer.assignment()}
        if not owned:
            return
        try:
            await self.consumer.commit(owned)
        except Exception as exc:  # a rebalance meanwhile: the alias marker still holds
            log.warning("%s: committing past the rebuilt gap failed (%s)", self.name, exc)


def _keyed(offsets: Mapping[TopicPartition, int]) -> dict[str, int]:
    """`offsets` by `partition_key`, as the coverage record keeps them."""
    return {partition_key(tp.topic, tp.partition): offset for tp, offset in offsets.items()}


def _tps(tps: Collection[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(tps))


_GUARDS: weakref.WeakKeyDictionary[Any, RetentionGuard] = weakref.WeakKeyDictionary()


async def resume_or_rebuild(
    settings: Settings,
    projection: Projection,
    consumer: Any,
    topic: str,
    partitions: Sequence[int],
) -> int:
    """Hold and position `consumer`'s newly assigned `partitions` of `topic`; on a retention
    gap, keep them held while `projection` is rebuilt, with its own folds, in the background
    (see the module docstring). Returns how many partitions had a gap no finished rebuild
    covers."""
    guard = _GUARDS.get(consumer)
    if guard is None:
        guard = _GUARDS[consumer] = RetentionGuard(settings, projection, consumer, topic)
    return await guard.assigned(partitions)
