"""The append statements' cached plans reach events through its indexes, however small it was.

asyncpg prepares each statement once per pooled connection and PostgreSQL soon caches a generic
plan for it, built from the table's size at that moment. A plan built while `events` was empty
must not scan it: the join form of the version guard did (a hash join over a seq scan of every
event, on every append), which the planted statement below shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from bench.micro.harness import drop_database, recreate_database
from system.config import Settings
from system.eventstore.append_sql import APPEND, APPEND_EVENTS
from system.eventstore.schema import migrate

pytestmark = pytest.mark.integration

DATABASE = "cqrs_test_append_plans"
EVENT_ARGS = "'{s}', '{BankAccount}', '{2}', '{MoneyDeposited}', '{1}', '{\"{}\"}', '{}', NULL"
GUARD_ARGS = "'{s}', '{1}'"
SNAPSHOT_ARGS = "'{s}', '{BankAccount}', '{2}', '{1}', '{\"{}\"}'"
JOIN_GUARD = """
SELECT count(*) = cardinality($1::text[]) AS present
FROM unnest($1::text[], $2::int[]) AS s(aggregate_id, version)
JOIN events e USING (aggregate_id, version)
"""


@pytest.fixture
async def empty_store() -> AsyncIterator[asyncpg.Connection]:
    """An owner connection to a freshly migrated, empty event store, generic plans forced."""
    owner_dsn = Settings.from_env().pg_owner_dsn
    dsn = await recreate_database(owner_dsn, DATABASE)
    try:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
        try:
            await migrate(pool)
        finally:
            await pool.close()
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            yield conn
        finally:
            await conn.close()
    finally:
        await drop_database(owner_dsn, DATABASE)


async def generic_plan(conn: asyncpg.Connection, name: str, sql: str, args: str) -> str:
    await conn.execute(f"PREPARE {name} AS {sql}")
    return "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN EXECUTE {name}({args})"))


async def test_append_plans_built_on_an_empty_store_use_the_indexes(
    empty_store: asyncpg.Connection,
) -> None:
    events_only = await generic_plan(
        empty_store, "append_events", APPEND_EVENTS, f"{EVENT_ARGS}, {GUARD_ARGS}"
    )
    with_snapshots = await generic_plan(
        empty_store, "append", APPEND, f"{EVENT_ARGS}, {GUARD_ARGS}, {SNAPSHOT_ARGS}"
    )
    for plan in (events_only, with_snapshots):
        assert "events_stream_version" in plan, plan
        assert "Seq Scan on events" not in plan, plan


async def test_the_join_form_of_the_guard_scans_events(empty_store: asyncpg.Connection) -> None:
    plan = await generic_plan(empty_store, "join_guard", JOIN_GUARD, GUARD_ARGS)
    assert "Seq Scan on events" in plan, plan
