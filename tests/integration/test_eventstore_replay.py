"""Replay reads a stream as pages of one JSON array each, decoded in one msgspec call.

These streams live in a scratch database of their own: some rows are written with SQL in
layouts our append never writes (stored before payloads carried their type's tag, or with a
type no code knows), which the shared stack's relay, rebuilds and audit must never meet.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bench.micro.harness import drop_database, recreate_database
from system.app.repository import Repository
from system.bootstrap import migrate_event_store, open_event_store
from system.config import Settings
from system.domain.account import AccountState, BankAccount
from system.domain.codec import UnknownEventType, decode_event, decode_state
from system.domain.events import (
    AccountClosed,
    AccountOpened,
    Event,
    MoneyDeposited,
    MoneyWithdrawn,
    WithdrawalReversed,
)
from system.eventstore import postgres, stream_sql
from system.eventstore.postgres import PostgresEventStore
from system.ports import StreamAppend
from tests.integration.eventstore_fixtures import new_id

pytestmark = pytest.mark.integration

DATABASE = f"cqrs_test_replay_p{os.getpid()}"
INSERT = """
INSERT INTO events (aggregate_id, aggregate_type, version, event_type, schema_version, data)
VALUES ($1, 'BankAccount', $2, $3, 1, $4)
"""


@pytest.fixture(scope="module")
async def scratch() -> AsyncIterator[tuple[PostgresEventStore, asyncpg.Connection]]:
    """A store on a freshly migrated database, and an owner connection to write odd rows: the
    tag constraint is dropped, as on a store whose rows predate it (it is NOT VALID there)."""
    settings = Settings.from_env()
    dsn = await recreate_database(settings.pg_owner_dsn, DATABASE)
    try:
        await migrate_event_store(settings, dsn=dsn, grant=False)
        store = await open_event_store(settings, dsn=dsn, min_size=1, max_size=2)
        owner = await asyncpg.connect(dsn)
        await owner.execute("ALTER TABLE events DROP CONSTRAINT events_payload_tag")
        try:
            yield store, owner
        finally:
            await owner.close()
            await store.close()
    finally:
        await drop_database(settings.pg_owner_dsn, DATABASE)


def account_history() -> list[Event]:
    """Every account event type, the payload-less AccountClosed last."""
    return [
        AccountOpened(owner_id="o"),
        *(MoneyDeposited(amount=100 + n) for n in range(6)),
        MoneyWithdrawn(amount=50),
        WithdrawalReversed(withdrawal_version=8, amount=50),
        MoneyDeposited(amount=7),
        AccountClosed(),
    ]


async def test_a_stream_longer_than_a_page_loads_whole_in_order_within_its_bounds(
    scratch: tuple[PostgresEventStore, asyncpg.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = scratch
    monkeypatch.setattr(postgres, "REPLAY_PAGE", 3)
    aggregate_id, events = new_id("replay"), account_history()
    for n, event in enumerate(events):
        stream = StreamAppend(
            aggregate_id=aggregate_id,
            aggregate_type="BankAccount",
            expected_version=n,
            events=[event],
        )
        await store.append([stream])
    recorded = await store.load(aggregate_id)
    assert await store.load_events(aggregate_id) == events
    assert await store.load_events(aggregate_id, after_version=4) == events[4:]
    assert await store.load_events(aggregate_id, after_version=2, until_version=9) == events[2:9]
    assert await store.load_events(aggregate_id, until_version=6) == events[:6]
    as_of = await store.load_events(aggregate_id, until_time=recorded[6].recorded_at)
    assert as_of == events[:7]
    assert await store.load_events(aggregate_id, after_version=len(events)) == []
    assert await store.load_events(new_id("none")) == []


async def test_the_latest_snapshot_and_every_event_after_it_load_together(
    scratch: tuple[PostgresEventStore, asyncpg.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = scratch
    monkeypatch.setattr(postgres, "REPLAY_PAGE", 3)
    aggregate_id, events = new_id("latest"), account_history()
    stream = StreamAppend(
        aggregate_id=aggregate_id, aggregate_type="BankAccount", expected_version=0, events=events
    )
    await store.append([stream])
    assert await store.load_latest(aggregate_id) == (None, events)
    account = BankAccount(aggregate_id)
    account.apply_all(events[:4])
    await store.save_snapshot(Repository.snapshot(account))
    snapshot, after = await store.load_latest(aggregate_id)
    assert snapshot is not None and (snapshot.version, snapshot.aggregate_type) == (
        4,
        "BankAccount",
    )
    assert decode_state(AccountState, snapshot.state) == account.state
    assert snapshot == await store.load_snapshot(aggregate_id)
    assert after == events[4:]
    assert await store.load_latest(new_id("none")) == (None, [])


async def test_untagged_rows_in_any_json_layout_decode_one_by_one(
    scratch: tuple[PostgresEventStore, asyncpg.Connection],
) -> None:
    store, owner = scratch
    aggregate_id = new_id("layout")
    rows = [
        ("AccountOpened", '{"owner_id":"o"}'),
        ("MoneyDeposited", '{ "amount" : 7 }'),
        ("AccountClosed", "{ }"),
    ]
    for version, (event_type, data) in enumerate(rows, start=1):
        await owner.execute(INSERT, aggregate_id, version, event_type, data)
    expected = [decode_event(t, d) for t, d in rows]
    assert expected == [AccountOpened(owner_id="o"), MoneyDeposited(amount=7), AccountClosed()]
    assert await store.load_events(aggregate_id) == expected
    assert await store.load_events(aggregate_id, after_version=1) == expected[1:]


async def test_a_page_mixing_tagged_and_untagged_rows_decodes_whole_and_in_order(
    scratch: tuple[PostgresEventStore, asyncpg.Connection],
) -> None:
    store, owner = scratch
    aggregate_id = new_id("mixed")
    await owner.execute(INSERT, aggregate_id, 1, "AccountOpened", '{"owner_id":"o"}')
    stream = StreamAppend(
        aggregate_id=aggregate_id,
        aggregate_type="BankAccount",
        expected_version=1,
        events=[MoneyDeposited(amount=3), MoneyWithdrawn(amount=2)],
    )
    await store.append([stream])
    await owner.execute(INSERT, aggregate_id, 4, "MoneyDeposited", '{"amount":9}')
    assert await store.load_events(aggregate_id) == [
        AccountOpened(owner_id="o"),
        MoneyDeposited(amount=3),
        MoneyWithdrawn(amount=2),
        MoneyDeposited(amount=9),
    ]


@pytest.mark.parametrize("event_type", ["Nope", 'Money"Deposited'])
async def test_a_stored_type_no_code_knows_is_named(
    scratch: tuple[PostgresEventStore, asyncpg.Connection], event_type: str
) -> None:
    store, owner = scratch
    aggregate_id = new_id("unknown")
    await owner.execute(INSERT, aggregate_id, 1, "AccountOpened", '{"owner_id":"o"}')
    await owner.execute(INSERT, aggregate_id, 2, event_type, '{"amount":5}')
    with pytest.raises(UnknownEventType, match=re.escape(repr(event_type))):
        await store.load_events(aggregate_id)


async def test_the_replay_plans_built_on_an_empty_store_use_the_stream_index() -> None:
    settings = Settings.from_env()
    database = f"{DATABASE}_plans"
    dsn = await recreate_database(settings.pg_owner_dsn, database)
    try:
        await migrate_event_store(settings, dsn=dsn, grant=False)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            await conn.execute(f"PREPARE replay AS {stream_sql.REPLAY}")
            await conn.execute(f"PREPARE replay_until AS {stream_sql.REPLAY_UNTIL}")
            for execute in ("replay('s', 0, 10)", "replay_until('s', 0, 10, now())"):
                rows = await conn.fetch(f"EXPLAIN EXECUTE {execute}")
                plan = "\n".join(row[0] for row in rows)
                assert "Index Scan using events_stream_version" in plan, plan
                assert "Seq Scan" not in plan and "Sort" not in plan, plan
        finally:
            await conn.close()
    finally:
        await drop_database(settings.pg_owner_dsn, database)
