"""Every statement the event store sends is planned generically on its indexes, however small
the tables were.

asyncpg prepares each statement once per pooled connection, and the store's connections force
PostgreSQL's generic plan (`STORE_SERVER_SETTINGS`), built from the tables' sizes at the first
execution. A plan built while `events` was empty must not scan it: the join form of the version
guard did (a hash join over a seq scan of every event, on every append), which the planted
statement below shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from bench.micro.harness import drop_database, recreate_database
from system.config import Settings
from system.domain.account import BankAccount
from system.domain.events import MoneyDeposited
from system.eventstore import errors, idempotency, postgres, stream_sql
from system.eventstore.append_sql import (
    APPEND,
    APPEND_EVENTS,
    APPEND_EVENTS_KEYED,
    APPEND_KEYED,
    APPEND_ONE,
    APPEND_ONE_KEYED,
)
from system.eventstore.pool import STORE_SERVER_SETTINGS, store_pool_options
from system.eventstore.schema import migrate
from system.ports import StreamAppend

pytestmark = pytest.mark.integration

DATABASE = "cqrs_test_append_plans"
EVENT_ARGS = "'{s}', '{BankAccount}', '{2}', '{MoneyDeposited}', '{1}', '{\"{}\"}', '{}', NULL"
GUARD_ARGS = "'{s}', '{1}'"
SNAPSHOT_ARGS = "'{s}', '{BankAccount}', '{2}', '{1}', '{\"{}\"}'"
KEY_ARGS = "'k', 'h', 201, '\\x7b', '\\x7d'"
ONE_ARGS = "'s', 'BankAccount', 2, 'MoneyDeposited', 1, '{}', '{}', NULL"
FILL = """
INSERT INTO events (aggregate_id, aggregate_type, version, event_type, schema_version, data)
SELECT 'fill-' || g / 100, 'BankAccount', g % 100 + 1, 'MoneyDeposited', 1,
       '{"event_type":"MoneyDeposited","amount":1}'
FROM generate_series(0, 9999) AS g
"""
JOIN_GUARD = """
SELECT count(*) = cardinality($1::text[]) AS present
FROM unnest($1::text[], $2::int[]) AS s(aggregate_id, version)
JOIN events e USING (aggregate_id, version)
"""


@pytest.fixture
async def empty_dsn() -> AsyncIterator[str]:
    """A freshly migrated, empty event store database (the owner's DSN)."""
    owner_dsn = Settings.from_env().pg_owner_dsn
    dsn = await recreate_database(owner_dsn, DATABASE)
    try:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
        try:
            await migrate(pool)
        finally:
            await pool.close()
        yield dsn
    finally:
        await drop_database(owner_dsn, DATABASE)


@pytest.fixture
async def empty_store(empty_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """An owner connection to a freshly migrated, empty event store, generic plans forced."""
    conn = await asyncpg.connect(empty_dsn)
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        yield conn
    finally:
        await conn.close()


async def generic_plan(conn: asyncpg.Connection, name: str, sql: str, args: str) -> str:
    await conn.execute(f"PREPARE {name} AS {sql}")
    call = f"{name}({args})" if args else name
    return "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN EXECUTE {call}"))


async def test_append_plans_built_on_an_empty_store_use_the_indexes(
    empty_store: asyncpg.Connection,
) -> None:
    events_only = await generic_plan(
        empty_store, "append_events", APPEND_EVENTS, f"{EVENT_ARGS}, {GUARD_ARGS}"
    )
    with_snapshots = await generic_plan(
        empty_store, "append", APPEND, f"{EVENT_ARGS}, {GUARD_ARGS}, {SNAPSHOT_ARGS}"
    )
    keyed = await generic_plan(
        empty_store, "append_keyed", APPEND_EVENTS_KEYED, f"{EVENT_ARGS}, {GUARD_ARGS}, {KEY_ARGS}"
    )
    keyed_with_snapshots = await generic_plan(
        empty_store,
        "append_keyed_snapshots",
        APPEND_KEYED,
        f"{EVENT_ARGS}, {GUARD_ARGS}, {SNAPSHOT_ARGS}, {KEY_ARGS}",
    )
    one = await generic_plan(empty_store, "append_one", APPEND_ONE, ONE_ARGS)
    one_keyed = await generic_plan(
        empty_store, "append_one_keyed", APPEND_ONE_KEYED, f"{ONE_ARGS}, {KEY_ARGS}"
    )
    for plan in (events_only, with_snapshots, keyed, keyed_with_snapshots, one, one_keyed):
        assert "events_stream_version" in plan, plan
        assert "Seq Scan" not in plan, plan


async def test_the_join_form_of_the_guard_scans_events(empty_store: asyncpg.Connection) -> None:
    plan = await generic_plan(empty_store, "join_guard", JOIN_GUARD, GUARD_ARGS)
    assert "Seq Scan on events" in plan, plan


# Each statement with arguments of the right types; the store's reads and writes, per request.
STATEMENTS = {
    "load": (stream_sql.LOAD, "'s', 0, 10, NULL"),
    "load_payloads": (stream_sql.LOAD_PAYLOADS, "'s', 0, 10, NULL"),
    "replay": (stream_sql.REPLAY, "'s', 0, 10"),
    "replay_until": (stream_sql.REPLAY_UNTIL, "'s', 0, 10, now()"),
    "load_event": (stream_sql.LOAD_EVENT, "'s', 1"),
    "read_all": (stream_sql.READ_ALL, "0, 100"),
    "head": (stream_sql.HEAD, ""),
    "load_snapshot": (stream_sql.LOAD_SNAPSHOT, "'s'"),
    "load_latest": (stream_sql.LOAD_LATEST, "'s', 10"),
    "save_snapshot": (stream_sql.SAVE_SNAPSHOT, "'s', 'BankAccount', 2, 1, '{}'"),
    "actual_versions": (errors._ACTUAL_VERSIONS, "'{s}'"),
    "lookup_key": (idempotency.LOOKUP, "'k'"),
}


@pytest.mark.parametrize("name", list(STATEMENTS))
async def test_every_store_statement_is_planned_on_indexes_on_an_empty_store(
    empty_store: asyncpg.Connection, name: str
) -> None:
    sql, args = STATEMENTS[name]
    plan = await generic_plan(empty_store, name, sql, args)
    assert "Seq Scan" not in plan, plan


def test_the_store_pools_force_generic_plans(settings: Settings) -> None:
    assert STORE_SERVER_SETTINGS == {"plan_cache_mode": "force_generic_plan"}
    server_settings = store_pool_options(settings)["server_settings"]
    assert server_settings["plan_cache_mode"] == "force_generic_plan"
    assert "statement_timeout" in server_settings


async def test_a_store_connection_plans_each_append_once(empty_dsn: str) -> None:
    """The reason for forcing it: left to choose (`auto`), PostgreSQL re-planned every one of
    these appends to a stream among 10,000 analysed events."""
    store = await postgres.PostgresEventStore.open(empty_dsn, min_size=1, max_size=1)
    try:
        async with store.connection() as conn:
            await conn.execute(FILL)
            await conn.execute("ANALYZE")
        for version in range(20):
            await store.append(
                [
                    StreamAppend(
                        aggregate_id="plans",
                        aggregate_type=BankAccount.aggregate_type,
                        expected_version=version,
                        events=[MoneyDeposited(amount=1)],
                    )
                ]
            )
        async with store.connection() as conn:
            plans = await conn.fetchrow(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement = $1",
                APPEND_ONE,
            )
    finally:
        await store.close()
    assert plans is not None
    assert (plans["generic_plans"], plans["custom_plans"]) == (20, 0)
