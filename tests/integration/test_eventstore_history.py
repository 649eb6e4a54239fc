from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from bench.cli import register
from system.app.commands import CommandHandlers
from system.app.repository import Repository
from system.bootstrap import open_event_store
from system.config import Settings
from system.domain.account import AccountState, BankAccount
from system.domain.codec import encode_state
from system.domain.commands import Deposit, OpenAccount
from system.domain.events import AccountOpened, Event, MoneyDeposited, MoneyWithdrawn
from system.eventstore.postgres import PostgresEventStore
from system.ports import Snapshot, StreamAppend
from tests.integration.eventstore_fixtures import new_id

pytestmark = pytest.mark.integration

SEED_TIMELINE: list[tuple[datetime, Event]] = [
    (datetime(2025, 1, 1, 9, tzinfo=UTC), AccountOpened(owner_id="rahim")),
    (datetime(2025, 1, 2, 9, tzinfo=UTC), MoneyDeposited(amount=10_000)),
    (datetime(2025, 1, 3, 9, tzinfo=UTC), MoneyWithdrawn(amount=3_000)),
    (datetime(2025, 1, 5, 9, tzinfo=UTC), MoneyDeposited(amount=2_000)),
    (datetime(2025, 1, 7, 9, tzinfo=UTC), MoneyWithdrawn(amount=4_000)),
]


async def seed_account(store: PostgresEventStore) -> str:
    """The seed lesson's account, backfilled with its historical record times."""
    account = new_id("seed")
    for version, (moment, event) in enumerate(SEED_TIMELINE):
        stream = StreamAppend(
            aggregate_id=account,
            aggregate_type="BankAccount",
            expected_version=version,
            events=[event],
        )
        await store.append([stream], recorded_at=moment)
    return account


@pytest.mark.parametrize("snapshot_every", [None, 2])
async def test_the_seed_timeline_answers_balances_as_of_a_time_or_version(
    event_store: PostgresEventStore, snapshot_every: int | None
) -> None:
    account = await seed_account(event_store)
    repository = Repository(event_store, snapshot_every)
    if snapshot_every:  # taken now, so never trusted for a time in the past
        now = await repository.load(BankAccount, account)
        await event_store.save_snapshot(repository.snapshot(now))

    async def balance(**bound: object) -> int:
        loaded = await repository.load(BankAccount, account, **bound)  # type: ignore[arg-type]
        return loaded.state.balance

    assert await balance(until_time=datetime(2025, 1, 3, 23, 59, tzinfo=UTC)) == 7_000
    assert await balance(until_time=datetime(2025, 1, 7, 23, 59, tzinfo=UTC)) == 5_000
    assert await balance(until_time=datetime(2025, 1, 4, tzinfo=UTC)) == 7_000
    assert await balance(until_time=datetime(2024, 12, 31, tzinfo=UTC)) == 0
    assert await balance(until_version=3) == 7_000
    assert await balance() == 5_000


def test_the_events_command_prints_the_stream_and_its_state_as_of_a_date() -> None:
    async def seed() -> str:
        store = await open_event_store(Settings.from_env(), min_size=1, max_size=1)
        try:
            return await seed_account(store)
        finally:
            await store.close()

    account = asyncio.run(seed())
    app = register(["events"])
    result = CliRunner().invoke(app, ["events", account, "--until", "2025-01-03"])
    assert result.exit_code == 0, result.output
    assert "state at version 3" in result.output and '"balance": 7000' in result.output
    by_version = CliRunner().invoke(app, ["events", account, "--version", "2"])
    assert '"balance": 10000' in by_version.output
    refused = CliRunner().invoke(app, ["events", account, "--version", "0"])
    assert refused.exit_code == 2 and "--version" in refused.output
    missing = CliRunner().invoke(app, ["events", new_id("none")])
    assert missing.exit_code == 1 and "no events" in missing.output


async def test_a_snapshot_with_a_stale_schema_version_is_ignored(
    event_store: PostgresEventStore,
) -> None:
    account = await seed_account(event_store)
    bogus = encode_state(AccountState(opened=True, owner_id="x", balance=999_999))
    repository = Repository(event_store, snapshot_every=2)
    await event_store.save_snapshot(
        Snapshot(
            aggregate_id=account,
            aggregate_type="BankAccount",
            version=4,
            schema_version=BankAccount.state_schema_version + 1,
            state=bogus,
        )
    )
    assert (await repository.load(BankAccount, account)).state.balance == 5_000


async def test_a_current_snapshot_is_trusted_and_only_the_tail_is_replayed(
    event_store: PostgresEventStore,
) -> None:
    account = await seed_account(event_store)
    marked = encode_state(AccountState(opened=True, owner_id="rahim", balance=1_000_000))
    await event_store.save_snapshot(
        Snapshot(
            aggregate_id=account,
            aggregate_type="BankAccount",
            version=4,
            schema_version=BankAccount.state_schema_version,
            state=marked,
        )
    )
    repository = Repository(event_store, snapshot_every=2)
    loaded = await repository.load(BankAccount, account)
    assert (loaded.version, loaded.state.balance) == (5, 1_000_000 - 4_000)
    assert (await repository.load(BankAccount, account, until_version=3)).state.balance == 7_000
    off = Repository(event_store, snapshot_every=None)
    assert (await off.load(BankAccount, account)).state.balance == 5_000


async def test_handlers_snapshot_every_n_events_and_snapshot_plus_tail_equals_full_replay(
    event_store: PostgresEventStore,
) -> None:
    settings = dataclasses.replace(Settings.from_env(), snapshot_every=5)
    handlers = CommandHandlers(event_store, settings)
    account = new_id("acc")
    await handlers.handle(OpenAccount(account_id=account, owner_id="o"))
    for amount in range(1, 13):
        result = await handlers.handle(Deposit(account_id=account, amount=amount))
    assert result.version == 13
    snapshot = await event_store.load_snapshot(account)
    assert snapshot is not None and snapshot.version == 10
    with_snapshot = await handlers.repository.load(BankAccount, account)
    replayed = await Repository(event_store, None).load(BankAccount, account)
    assert with_snapshot.state == replayed.state
    assert (with_snapshot.version, with_snapshot.state.balance) == (13, sum(range(1, 13)))
