"""Command handlers over the real event store: what a command writes, with its metadata and
its idempotency key, and what a refused command leaves behind (nothing)."""

from __future__ import annotations

import orjson
import pytest

from system.app.commands import CommandHandlers, CommandResult, KeyedCommand
from system.app.retry import RetryPolicy
from system.config import Settings
from system.domain import commands as c
from system.domain.errors import AccountClosed, ConcurrencyError
from system.domain.recorded import Metadata
from system.eventstore.postgres import PostgresEventStore
from system.ports import KeyTaken
from tests.integration.eventstore_fixtures import new_id

pytestmark = pytest.mark.integration


@pytest.fixture
def handlers(event_store: PostgresEventStore) -> CommandHandlers:
    return CommandHandlers(event_store, Settings.from_env())


async def test_a_closed_account_refuses_deposits_and_keeps_its_events(
    handlers: CommandHandlers, event_store: PostgresEventStore
) -> None:
    account = new_id("acc")
    await handlers.handle(c.OpenAccount(account_id=account, owner_id="o"))
    closed = await handlers.handle(c.CloseAccount(account_id=account))
    with pytest.raises(AccountClosed):
        await handlers.handle(c.Deposit(account_id=account, amount=5))
    recorded = await event_store.load(account)
    assert [e.event_type for e in recorded] == ["AccountOpened", "AccountClosed"]
    assert (closed.version, closed.position) == (2, recorded[-1].position)


async def test_a_command_records_its_metadata_on_every_event_it_writes(
    handlers: CommandHandlers, event_store: PostgresEventStore
) -> None:
    account = new_id("acc")
    meta = Metadata(correlation_id=new_id("corr"), user_id="u-7")
    await handlers.handle(c.OpenAccount(account_id=account, owner_id="o"), meta)
    await handlers.handle(c.Deposit(account_id=account, amount=3), meta)
    assert [e.metadata for e in await event_store.load(account)] == [meta, meta]


async def test_a_keyed_command_stores_its_answer_and_a_second_use_of_the_key_writes_nothing(
    handlers: CommandHandlers, event_store: PostgresEventStore
) -> None:
    account, key = new_id("acc"), new_id("key")
    await handlers.handle(c.OpenAccount(account_id=account, owner_id="o"))

    def render(result: CommandResult) -> tuple[int, bytes]:
        return 200, orjson.dumps({"version": result.version, "position": result.position})

    keyed = KeyedCommand(key=key, request_hash="h", render=render)
    first = await handlers.handle(c.Deposit(account_id=account, amount=4), None, keyed)
    with pytest.raises(KeyTaken):
        await handlers.handle(c.Deposit(account_id=account, amount=4), None, keyed)
    stored = await event_store.stored_answer(key)
    assert stored is not None and stored.status == 200
    assert orjson.loads(stored.body) == {"version": 2, "position": first.position}
    assert [e.version for e in await event_store.load(account)] == [1, 2]


async def test_a_pinned_command_at_a_stale_version_is_refused_without_retry(
    event_store: PostgresEventStore,
) -> None:
    handlers = CommandHandlers(event_store, Settings.from_env(), RetryPolicy(5))
    account = new_id("acc")
    await handlers.handle(c.OpenAccount(account_id=account, owner_id="o"))
    await handlers.handle(c.Deposit(account_id=account, amount=1))
    with pytest.raises(ConcurrencyError) as raised:
        await handlers.handle(c.Deposit(account_id=account, amount=1, expected_version=1))
    assert (raised.value.expected, raised.value.actual) == (1, 2)
    assert len(await event_store.load(account)) == 2
