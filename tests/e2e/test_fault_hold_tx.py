"""A transaction left open (an xid and a snapshot held by an idle session): commands keep
being acknowledged, but the projections' positions stand still below it (the relay's publish
watermark waits for it) until it ends; then they catch up and the audit passes."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bench.faults.hold_tx import APPLICATION_NAME, hold_tx
from system.config import Settings
from tests.e2e.fault_probes import positions
from tests.e2e.outage_support import Traffic, audit_since, head

pytestmark = pytest.mark.e2e

HOLD_S = 8.0


async def _sequence_while_held(settings: Settings) -> int:
    """The position sequence once the held transaction is open: no position the watermark may
    reach during the hold is above it."""
    conn = await asyncpg.connect(settings.pg_dsn)
    try:
        for _ in range(100):
            if await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
                " AND backend_xid IS NOT NULL",
                APPLICATION_NAME,
            ):
                value: int = await conn.fetchval("SELECT last_value FROM events_position_seq")
                return value
            await asyncio.sleep(0.05)
        raise AssertionError("the held transaction never showed up in pg_stat_activity")
    finally:
        await conn.close()


@pytest.mark.timeout(300)
async def test_a_transaction_held_open_stalls_positions_not_commands_and_everything_catches_up(
    stack: Settings,
) -> None:
    since = await head(stack)
    async with Traffic(stack) as traffic:
        await traffic.until_ok(10)
        held = asyncio.create_task(hold_tx(stack, HOLD_S))
        bound = await _sequence_while_held(stack)
        await traffic.until_ok(30)
        await asyncio.sleep(HOLD_S - 2)
        during = await positions(stack)
        xid = await held
        await traffic.until_ok(10)
    print(f"xid {xid} held {HOLD_S:g}s; positions during the hold {during} <= {bound}")
    assert max(during.values()) <= bound, (during, bound)
    assert traffic.statuses["500"] == 0, traffic.statuses
    await audit_since(since)
    after = await positions(stack)
    assert min(after.values()) > bound, (after, bound)
