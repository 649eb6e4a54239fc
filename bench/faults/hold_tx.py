"""`postgres:hold-tx=S`: a session of the application's role leaves a transaction open S seconds.

Which open transaction hurts: a row lock would block only a writer of that row, and the event
store never updates an event, while the outbox rows the relay marks are younger than any lock
taken before them. What the system waits on is the transaction itself: the relay's publish
watermark counts only positions below the oldest transaction still open
(`system/eventstore/outbox.py`), the xid8 follower of rebuilds and audits waits for every
transaction id below its target, and vacuum keeps every row version the snapshot can see. So the
transaction takes a transaction id (`pg_current_xact_id()`) and a REPEATABLE READ snapshot, sits
idle S seconds, and rolls back: commands keep being acknowledged and events published and
applied, but the projections' positions (read-your-writes, recovery) stand still until it ends.
"""

from __future__ import annotations

import asyncio

import asyncpg

from system.config import Settings

APPLICATION_NAME = "cqrs-bench fault hold-tx"


async def hold_tx(settings: Settings, seconds: float) -> int:
    """Hold a transaction (an xid and a snapshot) open `seconds`, then roll it back; returns
    its transaction id."""
    conn = await asyncpg.connect(
        settings.pg_dsn,
        timeout=settings.pg_connect_timeout_s,
        server_settings={"application_name": APPLICATION_NAME},
    )
    try:
        transaction = conn.transaction(isolation="repeatable_read")
        await transaction.start()
        xid = int(await conn.fetchval("SELECT pg_current_xact_id()::text"))
        await asyncio.sleep(seconds)
        await transaction.rollback()
        return xid
    finally:
        await conn.close()
