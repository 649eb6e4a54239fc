"""Handing partitions over between projector instances of one consumer group.

On revoke (called by the consumer before it rejoins the group, while it is still a member, and
the group waits for it up to its rebalance timeout):

1. the assignment epoch moves on at once (before anything awaits), so every batch fetched under
   the old assignment — queued, or returned by a fetch that raced the revoke — is dropped
   unapplied; aiokafka returns no records while the rebalance is in progress;
2. the batch being applied finishes (its bulk, refresh and checkpoint note): `apply` holds a
   lock for that, which the revoke takes;
3. the noted offsets and watermarks are written (`flush`), then the revoked partitions'
   leftovers are forgotten — a commit for a partition no longer ours could never succeed.

So the next owner starts exactly after the last applied batch and no write of ours for that
partition follows its first. Should a revoke overrun the rebalance timeout (Elasticsearch down),
the group moves on without us and Kafka refuses our late commit (its generation is gone); the
late bulk is then harmless, as every write is: a doc at version V is the fold of events 1..V
whoever writes it, and external versioning refuses an older or equal version.

On assign: `resume` holds the new partitions (paused) and positions each one — from the group's
committed offset, or past a retention gap once it is repaired (`system/projections/retention.py`,
the one place partitions are positioned) — and their watermarks are learnt again from the stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from system.projections.pipeline import Checkpoints, Received
from system.resilience import DependencyUnavailable

log = logging.getLogger(__name__)


class Handover(ConsumerRebalanceListener):  # type: ignore[misc]
    """A projector's rebalance listener; see the module docstring."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.epoch = 0
        self.owned: set[Any] = set()
        self.applying = asyncio.Lock()
        self._checkpoints: Checkpoints | None = None
        self._watermarks: dict[Any, int] = {}
        self.resume: Callable[[list[int]], Awaitable[object]] | None = None
        """Positions newly assigned partitions (by number) before they are fetched: it holds
        them (paused) itself until each is positioned (`retention.resume_or_rebuild`)."""

    def attach(self, checkpoints: Checkpoints, watermarks: dict[Any, int]) -> None:
        """What a revoke writes, then forgets for the revoked partitions: the projector's
        noted checkpoints and the watermarks it has seen per partition."""
        self._checkpoints, self._watermarks = checkpoints, watermarks

    def now(self) -> int:
        """The current assignment epoch (a `Receiver` stamps each batch with it)."""
        return self.epoch

    async def apply(
        self, received: Sequence[Received], process: Callable[[list[Received]], Awaitable[None]]
    ) -> None:
        """Process the batches fetched under the current assignment; drop the others."""
        async with self.applying:
            current = [r for r in received if r.epoch == self.epoch]
            if current:
                await process(current)

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        self.epoch += 1
        async with self.applying:
            if self._checkpoints is not None:
                try:
                    await self._checkpoints.flush()
                except (DependencyUnavailable, KafkaError) as exc:
                    log.warning("%s: checkpoint on revoke failed (%s)", self.name, exc)
                self._checkpoints.forget(set(revoked))
            for tp in revoked:
                self._watermarks.pop(tp, None)
        self.owned -= set(revoked)
        log.info("%s: handed over %s", self.name, _partitions(revoked))

    async def on_partitions_assigned(self, assigned: set[Any]) -> None:
        if self.resume is not None and assigned:
            await self.resume(sorted(tp.partition for tp in assigned))
        self.owned = set(assigned)
        log.info("%s: assigned %s", self.name, _partitions(assigned))


def _partitions(tps: set[Any]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(tps)) or "nothing"
