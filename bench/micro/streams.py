"""Seeded bank-account streams for the micro suites (the same shape as the peers')."""

from __future__ import annotations

import random

from system.app.ports import StreamAppend
from system.app.repository import Repository
from system.domain.account import BankAccount
from system.domain.events import AccountOpened, Event, MoneyDeposited
from system.eventstore.postgres import PostgresEventStore

CHUNK = 1000
AMOUNT_RANGE = (100, 99_999)


def account_events(count: int, rng: random.Random) -> list[Event]:
    """An opening followed by `count - 1` deposits of seeded amounts."""
    events: list[Event] = [AccountOpened(owner_id=f"owner-{rng.randrange(10**6)}")]
    events += [MoneyDeposited(amount=rng.randint(*AMOUNT_RANGE)) for _ in range(count - 1)]
    return events


async def seed_account(
    store: PostgresEventStore,
    aggregate_id: str,
    events: list[Event],
    snapshot_every: int | None = None,
) -> None:
    """Append `events` as one account stream; save the snapshot the command path would hold."""
    account = BankAccount(aggregate_id)
    for start in range(0, len(events), CHUNK):
        chunk = events[start : start + CHUNK]
        await store.append(
            [
                StreamAppend(
                    aggregate_id=aggregate_id,
                    aggregate_type=BankAccount.aggregate_type,
                    expected_version=start,
                    events=chunk,
                )
            ]
        )
    if snapshot_every is not None and len(events) >= snapshot_every:
        account.apply_all(events[: len(events) // snapshot_every * snapshot_every])
        await store.save_snapshot(Repository.snapshot(account))
