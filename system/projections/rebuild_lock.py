"""One projection rebuild at a time across projector instances: a PostgreSQL advisory lock.

Every instance of a projection that finds a retention gap on its partitions would otherwise
rebuild the whole read model and swap the alias itself. The lock is a session-level advisory
lock on a connection of its own, keyed by the read side's index prefix and the projection, so
isolated read sides (tests) never wait for each other; it is given back when the holder closes
its connection or dies (SIGKILL closes the socket, PostgreSQL releases the lock), so a crashed
rebuilder never blocks the others. The wait polls `pg_try_advisory_lock`, so no statement
waits longer than the connection's statement timeout and a cancelled waiter leaves at once.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from system.config import Settings
from system.eventstore.pool import pool_options, translating_unavailable

POLL_S = 0.5


def lock_name(settings: Settings, projection: str) -> str:
    """The text the lock's key is hashed from."""
    return f"cqrs-rebuild:{settings.es_index_prefix}:{projection}"


@asynccontextmanager
async def rebuild_lock(settings: Settings, projection: str) -> AsyncIterator[None]:
    """Hold `projection`'s rebuild lock for the block, waiting while another instance does.

    Raises `DependencyUnavailable` while PostgreSQL cannot be reached.
    """
    options = pool_options(settings)
    with translating_unavailable():
        conn: asyncpg.Connection = await asyncpg.connect(
            settings.pg_dsn,
            timeout=options["timeout"],
            command_timeout=options["command_timeout"],
            server_settings={
                **options["server_settings"],
                "application_name": f"cqrs-rebuild {os.getpid()}",
            },
        )
    try:
        key = lock_name(settings, projection)
        with translating_unavailable():
            while True:
                if await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key):
                    break
                await asyncio.sleep(POLL_S)
        yield
    finally:
        await conn.close()
