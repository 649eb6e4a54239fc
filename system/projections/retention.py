"""Retention gaps: a projection never silently skips events Kafka deleted before it read them.

A projector down longer than its topic's retention comes back to a committed offset below the
partition's log start offset: the messages in between are gone. When partitions are assigned to
a projector (its rebalance listener, `system/projections/rebalance.py`), `resume_or_rebuild`
compares each one's committed offset with its log start offset, and on a gap logs it, counts it
(`cqrs_projection_retention_gaps_total`), rebuilds the read model from the event store
(`system/projections/rebuild.py`, an alias swap) and resumes from the log start offset (what
is left in Kafka is then at most redelivered, which the versioned writes ignore). Every
partition is positioned explicitly, so the consumer can run with `auto_offset_reset="none"`: a
gap that opens while the projector runs surfaces as `OffsetOutOfRangeError` (the receiver lets
it end the process, never resets past it) and the restarted process finds it here.

The rebuild runs in the background, never inside the rebalance listener: a listener that takes
longer than the group's session gets its member evicted, its commits refused and the partitions
assigned again, still with the old committed offsets, so the gap would be found and rebuilt
forever. Meanwhile the partitions stay paused; once rebuilt, their new offsets are committed
(so a restart does not rebuild again), then they are positioned and resumed. Should the log
start move on during the rebuild, it rebuilds again. A rebuild that fails resumes them
unpositioned: the fetch fails on the gap, which ends the process and its restart tries again.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

from aiokafka import TopicPartition

from system.config import Settings
from system.metrics import PROJECTION_RETENTION_GAPS
from system.projections.rebuild import rebuild
from system.readstore.elasticsearch import ElasticsearchReadStore

log = logging.getLogger(__name__)

K = TypeVar("K")


def plan_resume(
    committed: Mapping[K, int | None], starts: Mapping[K, int]
) -> tuple[dict[K, int], dict[K, tuple[int, int]]]:
    """(where each partition resumes, the gaps: partition -> (committed, log start)).

    No committed offset counts as 0 (a new group reads from the first message ever written).
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

    def __init__(self, settings: Settings, name: str, consumer: Any, topic: str) -> None:
        self.settings = settings
        self.name = name
        self.consumer = consumer
        self.topic = topic
        self.waiting: set[TopicPartition] = set()
        """Paused partitions the running repair will position."""
        self.repair: asyncio.Task[None] | None = None

    async def assigned(self, partitions: Sequence[int]) -> int:
        """Position the assigned `partitions` (their repair started if there is a gap);
        returns how many had a gap."""
        tps = [TopicPartition(self.topic, p) for p in partitions]
        self.consumer.pause(*tps)
        if self.repair is not None and not self.repair.done():
            self.waiting |= set(tps)
            self._hold()
            return 0
        try:
            resume, gaps = await self._plan(tps)
        except BaseException:
            self.consumer.resume(*tps)  # unpositioned: a gap fails the fetch, loudly
            raise
        if not gaps:
            self._position(resume)
            return 0
        self._report(gaps)
        self.waiting = set(tps)
        self._hold()
        covered = {tp: start for tp, (_, start) in gaps.items()}
        self.repair = asyncio.create_task(self._repair(covered))
        return len(gaps)

    async def _plan(
        self, tps: Collection[TopicPartition]
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, tuple[int, int]]]:
        starts: dict[TopicPartition, int] = await self.consumer.beginning_offsets(list(tps))
        committed = {tp: await self.consumer.committed(tp) for tp in tps}
        return plan_resume(committed, starts)

    def _hold(self) -> None:
        """Keep the partitions awaiting the repair paused, also should the caller resume what
        it was assigned once this returns: re-paused before the fetcher runs again."""
        asyncio.get_running_loop().call_soon(
            lambda: self.consumer.pause(*(self.waiting & self.consumer.assignment()))
        )

    def _position(self, resume: Mapping[TopicPartition, int]) -> None:
        owned = self.consumer.assignment()
        for tp, offset in resume.items():
            if tp in owned:
                self.consumer.seek(tp, offset)
        self.consumer.resume(*(tp for tp in resume if tp in owned))

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

    async def _repair(self, covered: dict[TopicPartition, int]) -> None:
        """Rebuild until the rebuild covers every log start, commit, position, resume."""
        try:
            while True:
                report = await rebuild(self.settings, self.name)
                log.warning(
                    "%s: rebuilt into %s (%d events, %d docs, %.1fs), dropped %s (it had the"
                    " gap); resuming at the log start offsets",
                    self.name,
                    report.index,
                    report.events,
                    report.docs,
                    report.seconds,
                    ", ".join(report.replaced) or "no index",
                )
                await _drop(self.settings, report.replaced)
                owned = set(self.consumer.assignment()) & self.waiting
                resume, gaps = await self._plan(owned)
                moved = {tp: s for tp, (_, s) in gaps.items() if s > covered.get(tp, s)}
                if not moved:
                    break
                log.error("%s: the log start moved on during the rebuild; again", self.name)
                covered.update(moved)
            if gaps:
                await self.consumer.commit({tp: resume[tp] for tp in gaps})
            self._position(resume)
        except Exception:
            log.exception("%s: repairing the retention gap failed", self.name)
            self.consumer.resume(*self.waiting)
        finally:
            self.waiting.clear()


_GUARDS: weakref.WeakKeyDictionary[Any, RetentionGuard] = weakref.WeakKeyDictionary()


async def resume_or_rebuild(
    settings: Settings, name: str, consumer: Any, topic: str, partitions: Sequence[int]
) -> int:
    """Position `consumer`'s newly assigned `partitions` of `topic`; on a retention gap, keep
    them paused while `name` is rebuilt in the background (see the module docstring). Returns
    how many partitions had a gap."""
    guard = _GUARDS.get(consumer)
    if guard is None:
        guard = _GUARDS[consumer] = RetentionGuard(settings, name, consumer, topic)
    return await guard.assigned(partitions)


async def _drop(settings: Settings, indices: Sequence[str]) -> None:
    """Delete the indices a repair replaced (unlike an operator's rebuild, nobody inspects them)."""
    store = ElasticsearchReadStore(settings)
    try:
        for index in indices:
            await store.delete_index(index)
    finally:
        await store.close()
