"""The version probe: read models never go backwards, even across faults.

Every `interval_s` it reads (realtime `mget`) the documents of a set of the run's aggregates in
every read model of their type, and records each document's `version`. A version lower than
one seen before, or a document gone after it was seen, is a read model that went backwards.
The set is filled with up to `size` streams written since the probe started (falling back to
the seeded ones): the aggregates the load is changing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg

from bench.audit.checks import Check
from bench.audit.monotonic import Regression, read_models_never_went_back
from system.bootstrap import open_read_store
from system.config import Settings
from system.projections import PROJECTIONS
from system.readstore.elasticsearch import ElasticsearchReadStore

INTERVAL_S = 0.5
SIZE = 50
READ_TIMEOUT_S = 2.0
_RECENT = """
SELECT aggregate_id, min(aggregate_type) FROM events WHERE position > $1
GROUP BY aggregate_id ORDER BY max(position) DESC LIMIT $2
"""
_TYPES = "SELECT DISTINCT aggregate_id, aggregate_type FROM events WHERE aggregate_id = ANY($1)"


def models_by_type() -> dict[str, list[str]]:
    """Aggregate type → the read models folded from its streams."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for name, projection in PROJECTIONS.items():
        by_type[projection.aggregate_type].append(name)
    return dict(by_type)


@dataclass
class VersionTracker:
    """Pure bookkeeping: the highest version seen per (read model, id) and every regression."""

    seen: dict[tuple[str, str], int] = field(default_factory=dict)
    regressions: list[Regression] = field(default_factory=list)
    readings: int = 0

    def observe(self, model: str, ids: list[str], versions: Mapping[str, int], t: float) -> None:
        """One reading of `ids` in `model`: `versions` holds the found documents' versions."""
        self.readings += 1
        for doc_id in ids:
            before = self.seen.get((model, doc_id))
            now = versions.get(doc_id)
            if before is not None and (now is None or now < before):
                self.regressions.append(Regression(model, doc_id, before, now, t))
            if now is not None and (before is None or now > before):
                self.seen[(model, doc_id)] = now

    def check(self) -> Check:
        return read_models_never_went_back(
            self.regressions, documents=len(self.seen), readings=self.readings
        )


async def _versions(
    read_store: ElasticsearchReadStore, model: str, ids: list[str]
) -> tuple[list[str], dict[str, int]]:
    """(ids read, version of each found one): an id whose shard could not answer (an item
    with an `error`, e.g. while Elasticsearch recovers after a kill) is not a read."""
    response = await read_store.client.mget(index=read_store.alias(model), ids=ids)
    readable: list[str] = []
    versions: dict[str, int] = {}
    for doc in response["docs"]:
        if "error" in doc:
            continue
        readable.append(doc["_id"])
        version = doc.get("_source", {}).get("version") if doc.get("found") else None
        if isinstance(version, int):
            versions[doc["_id"]] = version
    return readable, versions


@dataclass
class VersionProbe:
    """Samples document versions during a run (see the module docstring)."""

    settings: Settings
    seeded: list[str]
    size: int = SIZE
    interval_s: float = INTERVAL_S
    tracker: VersionTracker = field(default_factory=VersionTracker)
    failed_reads: int = 0
    _ids: dict[str, str] = field(default_factory=dict)
    """Tracked aggregate id → its aggregate type."""

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until `stop` is set; a read that fails (a fault is on) is skipped."""
        read_store = open_read_store(self.settings)
        start = await self._head()
        try:
            while not stop.is_set():
                began = time.monotonic()
                try:
                    async with asyncio.timeout(READ_TIMEOUT_S * 2):
                        await self._top_up(start)
                        await self._read(read_store)
                except Exception:  # any dependency fault: skip this reading
                    self.failed_reads += 1
                remaining = self.interval_s - (time.monotonic() - began)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, remaining))
        finally:
            await read_store.close()

    async def _head(self) -> int:
        """The store head now (0 if PostgreSQL is not reachable: the seeded ones fill in)."""
        try:
            conn = await asyncpg.connect(self.settings.pg_dsn, timeout=READ_TIMEOUT_S)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return 0
        try:
            head: int = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            return head
        finally:
            await conn.close()

    async def _top_up(self, start: int) -> None:
        if len(self._ids) >= self.size:
            return
        conn = await asyncpg.connect(self.settings.pg_dsn, timeout=READ_TIMEOUT_S)
        try:
            rows = await conn.fetch(_RECENT, start, self.size)
            if not rows and self.seeded:
                rows = await conn.fetch(_TYPES, self.seeded[: self.size])
        finally:
            await conn.close()
        for aggregate_id, aggregate_type in rows:
            if len(self._ids) < self.size:
                self._ids.setdefault(aggregate_id, aggregate_type)

    async def _read(self, read_store: ElasticsearchReadStore) -> None:
        by_type: dict[str, list[str]] = defaultdict(list)
        for aggregate_id, aggregate_type in self._ids.items():
            by_type[aggregate_type].append(aggregate_id)
        for aggregate_type, models in models_by_type().items():
            ids = sorted(by_type.get(aggregate_type, []))
            for model in models if ids else []:
                readable, versions = await _versions(read_store, model, ids)
                self.tracker.observe(model, readable, versions, time.time())
