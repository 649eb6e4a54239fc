from __future__ import annotations

import asyncio

import asyncpg
import pytest

from system.config import Settings
from system.domain.events import AccountOpened, MoneyDeposited
from system.domain.recorded import RecordedEvent
from system.eventstore.postgres import PostgresEventStore
from system.ports import StreamAppend
from system.resilience import DependencyUnavailable
from tests.integration.eventstore_fixtures import new_id, open_accounts
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

# With its outbox row, as every append writes one: these streams live in the shared stack's
# database, and `cqrs-bench audit` after `make test` expects their read-model documents.
RAW_INSERT = """
WITH ins AS (
    INSERT INTO events (aggregate_id, aggregate_type, version, event_type, schema_version, data)
    VALUES ($1, 'BankAccount', 1, 'AccountOpened', 1,
            '{"event_type":"AccountOpened","owner_id":"o"}')
    RETURNING position, aggregate_id, aggregate_type
), outbox_row AS (
    INSERT INTO outbox (position, aggregate_type, aggregate_id)
    SELECT position, aggregate_type, aggregate_id FROM ins
)
SELECT position FROM ins
"""


async def connect() -> asyncpg.Connection:
    return await asyncpg.connect(Settings.from_env().pg_dsn)


async def read_mine(store: PostgresEventStore, after: int, ids: set[str]) -> list[RecordedEvent]:
    seen: list[RecordedEvent] = []
    async for batch in store.follow(after, batch=500):
        seen.extend(e for e in batch if e.aggregate_id in ids)
    return seen


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET data = '{}' WHERE aggregate_id = $1",
        "DELETE FROM events WHERE aggregate_id = $1",
        "TRUNCATE events",
    ],
)
async def test_events_cannot_be_updated_deleted_or_truncated_by_the_app_role(
    event_store: PostgresEventStore, statement: str
) -> None:
    (account,) = await open_accounts(event_store)
    args = [account] if "$1" in statement else []
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await event_store.pool.execute(statement, *args)
    assert len(await event_store.load(account)) == 1


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("MoneyWithdrawn", '{"event_type":"MoneyDeposited","amount":5}'),
        ("MoneyDeposited", '{"amount":5}'),
        ("MoneyDeposited", '{"amount":5,"event_type":"MoneyDeposited"}'),
    ],
    ids=["another type", "untagged", "tag not first"],
)
async def test_a_payload_whose_tag_does_not_lead_with_its_rows_type_is_refused(
    event_store: PostgresEventStore, event_type: str, data: str
) -> None:
    """Replay decodes a page by the tags its payloads carry: the database holds each to its
    row's `event_type`, for every writer."""
    account = new_id("tag")
    conn = await connect()
    try:
        with pytest.raises(asyncpg.CheckViolationError, match="events_payload_tag"):
            await conn.execute(
                "INSERT INTO events (aggregate_id, aggregate_type, version, event_type,"
                " schema_version, data) VALUES ($1, 'BankAccount', 1, $2, 1, $3)",
                account,
                event_type,
                data,
            )
    finally:
        await conn.close()
    assert await event_store.load(account) == []


async def test_a_connection_killed_mid_append_leaves_nothing_half_written(
    event_store: PostgresEventStore,
) -> None:
    first, second = new_id("acc"), new_id("acc")
    blocker = await connect()
    admin = await connect()
    try:
        blocking = blocker.transaction()
        await blocking.start()
        await blocker.fetchval(RAW_INSERT, second)  # holds second@1 until we roll back
        append = asyncio.create_task(
            event_store.append(
                [
                    StreamAppend(
                        aggregate_id=first,
                        aggregate_type="BankAccount",
                        expected_version=0,
                        events=[AccountOpened(owner_id="o"), MoneyDeposited(amount=1)],
                    ),
                    StreamAppend(
                        aggregate_id=second,
                        aggregate_type="BankAccount",
                        expected_version=0,
                        events=[AccountOpened(owner_id="o")],
                    ),
                ]
            )
        )
        blocked: list[int] = []

        async def append_is_waiting() -> bool:
            blocked[:] = (
                await admin.fetchval(
                    "SELECT array_agg(pid) FROM pg_stat_activity"
                    " WHERE $1 = ANY(pg_blocking_pids(pid))",
                    blocker.get_server_pid(),
                )
                or []
            )
            return bool(blocked)

        assert await eventually(append_is_waiting), "the append never reached the held row"
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", blocked[0])
        # The adapter's choke point turns the lost connection into our own error (a 503 at the api).
        with pytest.raises(DependencyUnavailable, match="postgres"):
            await append
        await blocking.rollback()
    finally:
        await blocker.close()
        await admin.close()
    assert await event_store.load(first) == []
    assert await event_store.load(second) == []
    assert not await event_store.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE aggregate_id = ANY($1::text[])", [first, second]
    )


async def test_read_all_holds_back_a_later_position_until_the_earlier_one_commits(
    event_store: PostgresEventStore,
) -> None:
    start = await event_store.head_position()
    late, early = new_id("late"), new_id("early")
    slow, fast = await connect(), await connect()
    try:
        tx = slow.transaction()
        await tx.start()
        n = await slow.fetchval(RAW_INSERT, late)
        n_plus = await fast.fetchval(RAW_INSERT, early)
        assert n_plus > n
        assert await read_mine(event_store, start, {late, early}) == []
        await tx.commit()
    finally:
        await slow.close()
        await fast.close()

    async def both_visible() -> bool:
        return len(await read_mine(event_store, start, {late, early})) == 2

    assert await eventually(both_visible)
    assert [e.aggregate_id for e in await read_mine(event_store, start, {late, early})] == [
        late,
        early,
    ]


async def test_a_follower_never_skips_a_lower_position_that_commits_after_a_higher_one(
    event_store: PostgresEventStore,
) -> None:
    """Transaction ids and positions can disagree: the follower's cursor must still catch up."""
    start = await event_store.head_position()
    first_xid, low = new_id("xid-first"), new_id("low-position")
    a, b = await connect(), await connect()
    try:
        tx_a, tx_b = a.transaction(), b.transaction()
        await tx_a.start()
        await a.fetchval("SELECT pg_current_xact_id()")  # A's xid < B's xid
        await tx_b.start()
        low_position = await b.fetchval(RAW_INSERT, low)  # B holds the lower position
        high_position = await a.fetchval(RAW_INSERT, first_xid)
        assert high_position > low_position
        await tx_a.commit()
        seen: list[RecordedEvent] = []

        async def a_visible() -> bool:
            seen[:] = await read_mine(event_store, start, {first_xid, low})
            return bool(seen)

        assert await eventually(a_visible)
        assert [e.aggregate_id for e in seen] == [first_xid]
        cursor = seen[-1].position
        await tx_b.commit()
    finally:
        await a.close()
        await b.close()

    caught_up: list[RecordedEvent] = []

    async def b_visible() -> bool:
        caught_up[:] = await read_mine(event_store, cursor, {first_xid, low})
        return bool(caught_up)

    assert await eventually(b_visible)
    assert [(e.aggregate_id, e.position) for e in caught_up] == [(low, low_position)]


async def test_head_position_is_where_a_follower_stops(event_store: PostgresEventStore) -> None:
    start = await event_store.head_position()
    (account,) = await open_accounts(event_store)

    async def followed() -> bool:
        return bool(await read_mine(event_store, start, {account}))

    assert await eventually(followed)
    head = await event_store.head_position()
    assert head >= 1
    assert await read_mine(event_store, head, {account}) == []
