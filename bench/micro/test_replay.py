"""Replay cost: rehydrating accounts of 10 … 100,000 events, snapshots off and every N.

Three measurements per stream length: the raw asyncpg fetch of the rows (the ceiling), decode +
fold of rows already fetched, and the repository's full rehydration at each snapshot interval.
"""

from __future__ import annotations

import random
from typing import Any

import asyncpg
import pytest

from bench.micro.harness import Runner
from bench.micro.streams import account_events, seed_account
from bench.micro.suite import Suite, load_suite
from system.app.repository import Repository
from system.domain.account import BankAccount
from system.domain.codec import decode_event
from system.eventstore.postgres import PostgresEventStore

RAW_FETCH = "SELECT event_type, data FROM events WHERE aggregate_id = $1 ORDER BY version"


def stream_id(events: int, snapshot_every: int) -> str:
    return f"replay-{events}-every-{snapshot_every}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    suite = load_suite(str(metafunc.config.getoption("--suite")))
    if "events" in metafunc.fixturenames:
        metafunc.parametrize("events", suite.replay.events, ids=lambda n: f"events={n}")
    if "snapshot_every" in metafunc.fixturenames:
        intervals: list[int | None] = [None, *suite.replay.snapshot_every]
        metafunc.parametrize("snapshot_every", intervals, ids=lambda k: f"snapshots={k or 'off'}")


@pytest.fixture(scope="module")
def streams(runner: Runner, store: PostgresEventStore, suite: Suite) -> None:
    """One stream per (length, interval), the same seeded events for every interval."""

    async def seed() -> None:
        for n in suite.replay.events:
            events = account_events(n, random.Random(suite.seed + n))
            for k in suite.replay.snapshot_every:
                await seed_account(store, stream_id(n, k), events, k)

    runner.run(seed())


def test_replay_raw_fetch(
    benchmark: Any,
    runner: Runner,
    store: PostgresEventStore,
    suite: Suite,
    streams: None,
    events: int,
) -> None:
    aggregate_id = stream_id(events, suite.replay.snapshot_every[0])

    async def fetch() -> list[asyncpg.Record]:
        async with store.pool.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(RAW_FETCH, aggregate_id)
            return rows

    rows = runner.measure(
        benchmark,
        fetch,
        rounds=suite.replay.rounds,
        warmup_rounds=1,
        kind="replay_fetch",
        events=events,
    )
    assert len(rows) == events


def test_replay_decode_fold(
    benchmark: Any,
    runner: Runner,
    store: PostgresEventStore,
    suite: Suite,
    streams: None,
    events: int,
) -> None:
    rows = runner.run(
        store.pool.fetch(RAW_FETCH, stream_id(events, suite.replay.snapshot_every[0]))
    )

    async def fold() -> BankAccount:
        account = BankAccount("replay")
        account.apply_all(decode_event(t, d) for t, d in rows)
        return account

    account = runner.measure(
        benchmark,
        fold,
        rounds=suite.replay.rounds,
        warmup_rounds=1,
        kind="replay_decode_fold",
        events=events,
    )
    assert account.version == events


def test_replay(
    benchmark: Any,
    runner: Runner,
    store: PostgresEventStore,
    suite: Suite,
    streams: None,
    events: int,
    snapshot_every: int | None,
) -> None:
    aggregate_id = stream_id(events, snapshot_every or suite.replay.snapshot_every[0])
    repository = Repository(store, snapshot_every)

    async def rehydrate() -> BankAccount:
        return await repository.load(BankAccount, aggregate_id)

    account = runner.measure(
        benchmark,
        rehydrate,
        rounds=suite.replay.rounds,
        warmup_rounds=1,
        kind="replay",
        events=events,
        snapshot_every=snapshot_every,
    )
    assert account.version == events
