"""Idempotency keys: the first answer to a keyed command, stored with its events.

The key row is inserted in the append's transaction, after the events, so it exists exactly
when they do. A concurrent retry with the same key blocks on the primary key until the first
transaction ends, then fails with a unique violation (`KeyTaken`), rolls its own events back
and reads the stored answer. Keys are kept at least `KEEP_ANSWERS_S` (24 h) and pruned after
(`prune`, which the api runs periodically through `PostgresEventStore.prune_answers`).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import asyncpg

from system.ports import (
    KEEP_ANSWERS_S,
    AppendResult,
    IdempotencyRecord,
    KeyTaken,
    StoredAnswer,
)

KEY_CONSTRAINT = "idempotency_keys_pkey"

LOOKUP = "SELECT request_hash, status, body FROM idempotency_keys WHERE key = $1"
STORE = "INSERT INTO idempotency_keys (key, request_hash, status, body) VALUES ($1, $2, $3, $4)"
PRUNE = (
    "DELETE FROM idempotency_keys"
    " WHERE created_at < clock_timestamp() - make_interval(secs => $1::float8)"
)


async def append_keyed(
    conn: asyncpg.Connection,
    record: IdempotencyRecord,
    append: str,
    args: tuple[Any, ...],
    versions: dict[str, int],
) -> int | None:
    """Run the `append` statement and store the key in one transaction; the last position, or
    None when the append wrote nothing (an expected version ahead of the stream)."""
    try:
        async with conn.transaction():
            position: int | None = await conn.fetchval(append, *args)
            if position is None:
                return None
            status, body = record.render(AppendResult(versions=versions, position=position))
            await conn.execute(STORE, record.key, record.request_hash, status, body)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != KEY_CONSTRAINT:
            raise
        raise KeyTaken(record.key) from exc
    return position


class Connections(Protocol):
    """What the key queries need of a store: a bounded pooled connection."""

    def connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A pooled connection."""


async def lookup(store: Connections, key: str) -> StoredAnswer | None:
    """The answer stored under `key`, if any."""
    async with store.connection() as conn:
        row = await conn.fetchrow(LOOKUP, key)
    if row is None:
        return None
    return StoredAnswer(request_hash=row[0], status=row[1], body=bytes(row[2]))


async def prune(store: Connections, keep_s: float = KEEP_ANSWERS_S) -> int:
    """Delete keys older than `keep_s`; how many went."""
    async with store.connection() as conn:
        status: str = await conn.execute(PRUNE, keep_s)
    return int(status.split()[-1])
