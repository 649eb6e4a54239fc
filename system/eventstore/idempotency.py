"""Idempotency keys: the first answer to a keyed command, stored with its events.

The key row is inserted by the append's own statement (`APPEND_ONE_KEYED`, `APPEND_EVENTS_KEYED`
and `APPEND_KEYED` in append_sql.py), only if its events were, so it exists exactly when they do.
A concurrent retry with the same key blocks on the primary key until the first statement's
transaction ends, then fails with a unique violation (`KeyTaken`), which rolls its own events
back, and reads the stored answer. Keys are kept at least `KEEP_ANSWERS_S` (24 h) and pruned
after (`prune`, which the api runs periodically through `PostgresEventStore.prune_answers`).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

import asyncpg

from system.ports import KEEP_ANSWERS_S, IdempotencyRecord, StoredAnswer

KEY_CONSTRAINT = "idempotency_keys_pkey"

LOOKUP = "SELECT request_hash, status, body FROM idempotency_keys WHERE key = $1"
PRUNE = (
    "DELETE FROM idempotency_keys"
    " WHERE created_at < clock_timestamp() - make_interval(secs => $1::float8)"
)


def key_arguments(record: IdempotencyRecord) -> tuple[str, str, int, bytes, bytes]:
    """The keyed append statements' last five parameters."""
    return record.key, record.request_hash, record.status, record.before, record.after


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
