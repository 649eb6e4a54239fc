from __future__ import annotations

import asyncio
import dataclasses
import random

import pytest

from system.app.commands import CommandHandlers
from system.app.retry import RetryPolicy
from system.config import Settings
from system.domain.account import BankAccount
from system.domain.commands import Deposit, OpenAccount, Withdraw
from system.domain.errors import ConcurrencyError, InsufficientFunds
from system.domain.events import AccountOpened, MoneyDeposited, MoneyWithdrawn
from system.eventstore.postgres import PostgresEventStore
from system.ports import StreamAppend
from tests.integration.eventstore_fixtures import deposit, new_id, open_accounts

pytestmark = pytest.mark.integration


async def open_account(store: PostgresEventStore) -> str:
    (account,) = await open_accounts(store)
    return account


async def versions(store: PostgresEventStore, aggregate_id: str) -> list[int]:
    return [e.version for e in await store.load(aggregate_id)]


async def outbox_count(store: PostgresEventStore, *aggregate_ids: str) -> int:
    count: int = await store.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE aggregate_id = ANY($1::text[])", list(aggregate_ids)
    )
    return count


async def test_32_concurrent_appends_at_one_version_commit_exactly_once(
    event_store: PostgresEventStore,
) -> None:
    account = await open_account(event_store)
    outcomes = await asyncio.gather(
        *(event_store.append([deposit(account, 1, n)]) for n in range(1, 33)),
        return_exceptions=True,
    )
    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyError)]
    assert len(conflicts) == 31
    assert len(outcomes) - len(conflicts) == 1
    assert all((c.expected, c.actual, c.aggregate_id) == (1, 2, account) for c in conflicts)
    assert await versions(event_store, account) == [1, 2]
    assert await outbox_count(event_store, account) == 2


async def test_an_expected_version_ahead_of_the_stream_is_a_conflict_not_a_gap(
    event_store: PostgresEventStore,
) -> None:
    account = await open_account(event_store)
    with pytest.raises(ConcurrencyError) as error:
        await event_store.append([deposit(account, 5)])
    assert (error.value.expected, error.value.actual) == (5, 1)
    assert await versions(event_store, account) == [1]
    assert await outbox_count(event_store, account) == 1


async def test_a_conflict_on_one_stream_writes_nothing_on_the_others(
    event_store: PostgresEventStore,
) -> None:
    account_ok = await open_account(event_store)
    account_stale = await open_account(event_store)
    account_new = new_id("acc")
    await event_store.append([deposit(account_stale, 1)])
    with pytest.raises(ConcurrencyError) as error:
        await event_store.append(
            [
                deposit(account_ok, 1),
                StreamAppend(
                    aggregate_id=account_new,
                    aggregate_type="BankAccount",
                    expected_version=0,
                    events=[AccountOpened(owner_id="o"), MoneyDeposited(amount=3)],
                ),
                deposit(account_stale, 1),
            ]
        )
    assert error.value.aggregate_id == account_stale
    assert await versions(event_store, account_ok) == [1]
    assert await versions(event_store, account_new) == []
    assert await outbox_count(event_store, account_ok, account_new) == 1


async def test_every_appended_event_gets_one_outbox_row_at_its_position(
    event_store: PostgresEventStore,
) -> None:
    a, b = new_id("acc"), new_id("acc")
    result = await event_store.append(
        [
            StreamAppend(
                aggregate_id=a,
                aggregate_type="BankAccount",
                expected_version=0,
                events=[AccountOpened(owner_id="o"), MoneyDeposited(amount=5)],
            ),
            StreamAppend(
                aggregate_id=b,
                aggregate_type="BankAccount",
                expected_version=0,
                events=[AccountOpened(owner_id="o")],
            ),
        ]
    )
    assert result.versions == {a: 2, b: 1}
    rows = await event_store.pool.fetch(
        "SELECT e.position, o.position AS outbox_position, o.aggregate_type, o.published_at"
        " FROM events e LEFT JOIN outbox o USING (position)"
        " WHERE e.aggregate_id = ANY($1::text[]) ORDER BY e.position",
        [a, b],
    )
    assert [r["position"] for r in rows] == [r["outbox_position"] for r in rows]
    assert len(rows) == 3 and rows[-1]["position"] == result.position
    assert {r["aggregate_type"] for r in rows} == {"BankAccount"}


async def test_1000_concurrent_commands_with_retry_keep_every_balance_exact_and_non_negative(
    event_store: PostgresEventStore,
) -> None:
    settings = dataclasses.replace(Settings.from_env(), snapshot_every=10)
    retry = RetryPolicy(100, rng=random.Random(7))
    handlers = CommandHandlers(event_store, settings, retry)
    accounts = [new_id("acc") for _ in range(10)]
    for account in accounts:
        await handlers.handle(OpenAccount(account_id=account, owner_id="o"))
    rng = random.Random(42)
    commands = [
        (Deposit if rng.random() < 0.55 else Withdraw)(
            account_id=rng.choice(accounts), amount=rng.randint(1, 500)
        )
        for _ in range(1000)
    ]
    outcomes = await asyncio.gather(*(handlers.handle(c) for c in commands), return_exceptions=True)
    unexpected = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, InsufficientFunds) for o in unexpected), unexpected[:3]
    expected = dict.fromkeys(accounts, 0)
    for command, outcome in zip(commands, outcomes, strict=True):
        if not isinstance(outcome, BaseException):
            sign = 1 if isinstance(command, Deposit) else -1
            expected[command.account_id] += sign * command.amount
    assert retry.conflicts > 0 and retry.attempts == 1010 + retry.conflicts
    for account in accounts:
        events = await event_store.load(account)
        assert [e.version for e in events] == list(range(1, len(events) + 1))
        balance = 0
        for event in await event_store.load_events(account):
            if isinstance(event, MoneyDeposited):
                balance += event.amount
            elif isinstance(event, MoneyWithdrawn):
                balance -= event.amount
            assert balance >= 0
        assert balance == expected[account]
        live = await handlers.repository.load(BankAccount, account)
        assert live.state.balance == balance
