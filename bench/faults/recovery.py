"""Recovery and errors of one fault: pure computations, and the live poll they are made from.

A fault has recovered at the first poll, after its action is done, where every service is
healthy and every projection has caught up with the store head the fault saw: its checkpoint
is at that head, or no event of its aggregate type lies between its checkpoint and that head.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import asyncpg

from bench.faults.plan import SERVICES
from bench.load.samples import Sample
from bench.stack.registry import SERVICES as REGISTRY
from system.config import Settings
from system.projections import PROJECTIONS
from system.readstore.elasticsearch import ElasticsearchReadStore

POLL_S = 0.25
POLL_TIMEOUT_S = 3.0
_PENDING = """
SELECT EXISTS (SELECT 1 FROM events
               WHERE position > $1 AND position <= $2 AND aggregate_type = $3)
"""


@dataclass(frozen=True)
class Poll:
    """One look at the stack: when, whether all services were healthy, projections caught up."""

    t: float
    healthy: bool
    caught_up: bool


def recovered_at(polls: Iterable[Poll], after: float) -> float | None:
    """The time of the first poll at or after `after` where everything was well, or None."""
    for poll in polls:
        if poll.t >= after and poll.healthy and poll.caught_up:
            return poll.t
    return None


def behind(positions: Mapping[str, int], head: int) -> list[str]:
    """Projections whose checkpoint is below `head` (they may still be caught up: see above)."""
    return sorted(name for name, position in positions.items() if position < head)


def errors_by_status(samples: Iterable[Sample], start: float, end: float) -> dict[str, int]:
    """Client-visible failures (outcome `error`) in flight during [start, end], by status."""
    counts: Counter[str] = Counter(
        str(s.status)
        for s in samples
        if s.outcome == "error" and s.finished >= start and s.sent <= end
    )
    return dict(sorted(counts.items()))


def error_window(samples: Iterable[Sample], start: float, end: float) -> tuple[float, float] | None:
    """(first send, last finish) of the errors in flight during [start, end], or None."""
    failed = [s for s in samples if s.outcome == "error" and s.finished >= start and s.sent <= end]
    if not failed:
        return None
    return min(s.sent for s in failed), max(s.finished for s in failed)


async def store_head(settings: Settings) -> int:
    """The store's head position now (asks PostgreSQL on a connection of its own)."""
    conn = await asyncpg.connect(settings.pg_dsn, timeout=POLL_TIMEOUT_S)
    try:
        head: int = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
        return head
    finally:
        await conn.close()


async def caught_up(settings: Settings, read_store: ElasticsearchReadStore, head: int) -> bool:
    """Every projection reached `head`, or has no event of its type left up to `head`."""
    positions = await read_store.projection_positions(list(PROJECTIONS))
    late = behind(positions, head)
    if not late:
        return True
    conn = await asyncpg.connect(settings.pg_dsn, timeout=POLL_TIMEOUT_S)
    try:
        for name in late:
            kind = PROJECTIONS[name].aggregate_type
            if await conn.fetchval(_PENDING, positions[name], head, kind):
                return False
        return True
    finally:
        await conn.close()


async def all_healthy(settings: Settings) -> bool:
    """Every service a fault can hit answers its health check."""
    checks = [REGISTRY[name].health(settings) for name in SERVICES if name in REGISTRY]
    return all(await asyncio.gather(*checks))


async def poll(settings: Settings, read_store: ElasticsearchReadStore, head: int) -> Poll:
    """One poll; a dependency that does not answer in time counts as not recovered."""
    t = time.time()
    try:
        async with asyncio.timeout(POLL_TIMEOUT_S):
            healthy = await all_healthy(settings)
            done = healthy and await caught_up(settings, read_store, head)
    except Exception:  # any failure to look is "not yet"
        return Poll(t, False, False)
    return Poll(t, healthy, done)


async def wait_recovered(
    settings: Settings,
    read_store: ElasticsearchReadStore,
    head: int,
    limit_s: float,
) -> list[Poll]:
    """Poll until recovered or `limit_s` passed; returns the polls (the last one recovered)."""
    polls: list[Poll] = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        polls.append(await poll(settings, read_store, head))
        if polls[-1].healthy and polls[-1].caught_up:
            break
        await asyncio.sleep(POLL_S)
    return polls
