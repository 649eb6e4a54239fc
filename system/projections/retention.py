"""Retention gaps: a projection never silently skips events Kafka deleted before it read them.

A projector down longer than its topic's retention comes back to a committed offset below the
partition's log start offset: the messages in between are gone. Before projecting, the runner
calls `resume_or_rebuild` for each projection: it compares every partition's committed offset
with its log start offset, and on a gap logs it, counts it (`cqrs_projection_retention_gaps_total`),
rebuilds the read model from the event store (`system/projections/rebuild.py`, an alias swap)
and resumes from the log start offset (what is left in Kafka is then at most redelivered, which
the versioned writes ignore). Every partition is positioned explicitly, so the consumer can
run with `auto_offset_reset="none"`: a gap that opens while the projector runs surfaces as
`OffsetOutOfRangeError` (the receiver lets it end the process, never resets past it) and the
restarted process finds it here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from aiokafka import TopicPartition

from system.config import Settings
from system.metrics import PROJECTION_RETENTION_GAPS
from system.projections.rebuild import rebuild

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


async def resume_or_rebuild(
    settings: Settings, name: str, consumer: Any, topic: str, partitions: Sequence[int]
) -> int:
    """Position `consumer` on every partition of `topic`; on a retention gap, rebuild `name`
    from the event store first. Returns how many partitions had a gap."""
    assigned = [TopicPartition(topic, p) for p in partitions]
    starts: dict[TopicPartition, int] = await consumer.beginning_offsets(assigned)
    committed = {tp: await consumer.committed(tp) for tp in assigned}
    resume, gaps = plan_resume(committed, starts)
    for tp, (offset, start) in sorted(gaps.items()):
        log.error(
            "%s: retention gap on %s[%d]: committed offset %d is below the log start offset %d"
            " (%d unread messages deleted); rebuilding from the event store",
            name,
            tp.topic,
            tp.partition,
            offset,
            start,
            start - offset,
        )
    if gaps:
        PROJECTION_RETENTION_GAPS.labels(name).inc(len(gaps))
        report = await rebuild(settings, name)
        log.warning(
            "%s: rebuilt into %s (%d events, %d docs, %.1fs); resuming at the log start offsets",
            name,
            report.index,
            report.events,
            report.docs,
            report.seconds,
        )
    for tp, offset in resume.items():
        consumer.seek(tp, offset)
    return len(gaps)
