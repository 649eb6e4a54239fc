"""Lag records written in the background, off the projectors' path (see `system/projections`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence

from system.ports import Doc, ProjectionStore
from system.projections.fold import Arrival
from system.resilience import DependencyHealth, retry_unavailable

log = logging.getLogger(__name__)

STAMP_BACKLOG_LIMIT = 50_000


def lag_record(
    name: str, events: Sequence[Arrival], consumed: float, indexed: float, searchable: float
) -> Doc | None:
    """The lag record of one applied batch (None if no event carries an origin).

    Times shared by the batch are stored once; the per-event columns sit under `events`.
    """
    timed = [a for a in events if a.origin is not None]
    if not timed:
        return None
    positions = [a.recorded.position for a in timed]
    origins = [a.origin for a in timed if a.origin is not None]
    return {
        "_id": f"{name}:{min(positions)}:{max(positions)}:{len(positions)}",
        "projection": name,
        "consumed_at": consumed,
        "indexed_at": indexed,
        "searchable_at": searchable,
        "origin_min": min(origins),
        "origin_max": max(origins),
        "events": {
            "position": positions,
            "origin": origins,
            "observed": [a.observed for a in timed],
        },
    }


class StampWriter:
    """Writes lag records in the background, one bulk at a time, off the projectors' path."""

    def __init__(self, store: ProjectionStore, health: DependencyHealth) -> None:
        self.store = store
        self.health = health
        self._buffer: list[Doc] = []
        self._wake = asyncio.Event()
        self._flushed = asyncio.Event()

    async def add(self, stamps: list[Doc]) -> None:
        self._buffer.extend(stamps)
        self._wake.set()
        while len(self._buffer) > STAMP_BACKLOG_LIMIT:
            self._flushed.clear()
            await self._flushed.wait()

    async def run(self, stop: asyncio.Event, give_up: asyncio.Event | None = None) -> None:
        """Flush whenever stamps are waiting; after `stop`, flush what is left and return.

        A flush is retried while Elasticsearch is unavailable, until `give_up` is set (then
        the waiting records are dropped: they are measurements, not read-model state).
        """
        while True:
            if not self._buffer:
                if stop.is_set():
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._wake.wait()
                self._wake.clear()
                continue
            stamps, self._buffer = self._buffer, []
            written = await retry_unavailable(
                functools.partial(self._write, stamps), self.health, stop=give_up
            )
            if written is None:
                log.warning(
                    "dropped %d lag records: Elasticsearch unavailable at exit", len(stamps)
                )
            self._flushed.set()

    async def _write(self, stamps: list[Doc]) -> bool:
        await self.store.write_lag_records(stamps)
        return True
