"""Seeded bank-account streams for the micro suites (the same shape as the peers')."""

from __future__ import annotations

import random
from dataclasses import dataclass

import msgspec

from bench.micro.suite import ReplaySuite
from system.app.repository import Repository
from system.domain.account import BankAccount
from system.domain.events import AccountOpened, Event, MoneyDeposited
from system.eventstore.postgres import PostgresEventStore
from system.ports import StreamAppend

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


COPY_PREFIX = """
INSERT INTO events (aggregate_id, aggregate_type, version, event_type, schema_version, data,
                    metadata, recorded_at)
SELECT $2, aggregate_type, version, event_type, schema_version, data, metadata, recorded_at
FROM events WHERE aggregate_id = $1 AND version <= $3 ORDER BY version
"""
"""A stream's first events under another id, copied inside PostgreSQL (seeding only: no outbox)."""


@dataclass(frozen=True)
class ReplayStream:
    """A seeded stream of `base + tail` events; with a tail, it holds a snapshot at `base`."""

    base: int
    tail: int

    @property
    def events(self) -> int:
        return self.base + self.tail

    @property
    def snapshot_version(self) -> int:
        """Where its snapshot sits (0: none, the stream is only ever replayed in full)."""
        return self.base if self.tail else 0

    @property
    def aggregate_id(self) -> str:
        return f"replay-{self.base}" + (f"-tail-{self.tail}" if self.tail else "")


def replay_streams(replay: ReplaySuite) -> dict[int, list[ReplayStream]]:
    """Per suite length n: the full stream of n events and one stream per tail after n."""
    return {
        n: [
            ReplayStream(n, 0),
            *(
                ReplayStream(n, r)
                for r in sorted({r for k in replay.intervals_for(n) for r in replay.tails_of(k)})
            ),
        ]
        for n in replay.events
    }


async def seed_replay_streams(store: PostgresEventStore, replay: ReplaySuite, seed: int) -> None:
    """Seed every stream of the replay suite: per length, one appended stream of the longest
    tail, the others copied from its prefix, each tailed one with its snapshot at the base."""
    for n, streams in replay_streams(replay).items():
        longest = streams[-1]
        events = account_events(longest.events, random.Random(seed + n))
        await seed_account(store, longest.aggregate_id, events)
        # One copy at a time, so each stream's rows lie together: copied concurrently, they
        # interleaved on heap pages as the scheduler happened to run the copies, and both the
        # replay and its ceiling (the raw fetch) read a layout that changed from run to run.
        for s in streams[:-1]:
            await store.pool.execute(COPY_PREFIX, longest.aggregate_id, s.aggregate_id, s.events)
        account = BankAccount("snapshot")
        account.apply_all(events[:n])
        state = Repository.snapshot(account)
        for s in streams:
            if s.snapshot_version:
                await store.save_snapshot(
                    msgspec.structs.replace(state, aggregate_id=s.aggregate_id)
                )
