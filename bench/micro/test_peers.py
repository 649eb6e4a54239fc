"""Peers on the same PostgreSQL, same account streams, same durability: `eventsourcing` and
message-db, each beside ours measured in the same way at the same connections.

eventsourcing runs its own synchronous code (psycopg) in a thread pool of `connections`
threads, off our event loop; message-db is driven through `write_message` and
`get_stream_messages` from asyncpg. A peer that is not installed fails this suite.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.micro.harness import (
    RUN_TAG,
    Runner,
    drop_database,
    recreate_database,
    spread_over,
    with_database,
)
from bench.micro.peers import (
    EVENTSOURCING_DATABASE,
    MESSAGE_DB_DATABASE,
    require_eventsourcing,
    require_message_db,
)
from bench.micro.streams import account_events, seed_account
from bench.micro.suite import Suite
from system.app.commands import CommandHandlers
from system.app.ports import StreamAppend
from system.app.repository import Repository
from system.config import Settings
from system.domain.account import BankAccount
from system.domain.codec import decode_event, encode_event
from system.domain.commands import Deposit
from system.domain.events import AccountOpened, MoneyDeposited
from system.eventstore.postgres import PostgresEventStore

CHUNK = 1000
_runs = itertools.count()


class Account(Aggregate):
    """The same bank account, in eventsourcing's style."""

    @event("Opened")
    def __init__(self, owner_id: str) -> None:
        self.owner_id = owner_id
        self.balance = 0

    @event("Deposited")
    def deposit(self, amount: int) -> None:
        self.balance += amount


def eventsourcing_env(dsn: str, pool_size: int, snapshots: bool) -> dict[str, str]:
    url = urlsplit(dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "",
        "POSTGRES_PASSWORD": url.password or "",
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
        "IS_SNAPSHOTTING_ENABLED": "y" if snapshots else "n",
    }


class Bank(Application[uuid.UUID]):
    snapshotting_intervals = {Account: 100}  # noqa: RUF012 (eventsourcing's own declaration)


@pytest.fixture(scope="module")
def peers_ready(runner: Runner, settings: Settings) -> str:
    """Both peers present (or this fails, saying how to install them); returns message-db's DSN."""
    require_eventsourcing()
    dsn = with_database(settings.pg_dsn, MESSAGE_DB_DATABASE)
    runner.run(require_message_db(dsn))
    return dsn


@pytest.fixture(scope="module")
def ours(runner: Runner, micro_dsn: str, suite: Suite) -> Iterator[PostgresEventStore]:
    size = suite.peers.connections
    store: PostgresEventStore = runner.run(
        PostgresEventStore.open(micro_dsn, min_size=size, max_size=size)
    )
    events = account_events(suite.peers.replay_events, random.Random(suite.seed))
    runner.run(seed_account(store, "peer-replay", events, suite.peers.snapshot_every))
    yield store
    runner.run(store.close())


@pytest.fixture(scope="module")
def bank(
    runner: Runner, settings: Settings, suite: Suite, peers_ready: str
) -> Iterator[tuple[str, uuid.UUID]]:
    """eventsourcing's database, fresh, with a replay account: (DSN, account id)."""
    database = f"{EVENTSOURCING_DATABASE}_{RUN_TAG}"
    dsn: str = runner.run(recreate_database(settings.pg_dsn, database))
    app = Bank(env=eventsourcing_env(dsn, 2, snapshots=True))
    rng = random.Random(suite.seed)
    events = account_events(suite.peers.replay_events, rng)
    opened = events[0]
    assert isinstance(opened, AccountOpened)
    account = Account(owner_id=opened.owner_id)
    for start in range(1, len(events), CHUNK):
        for e in events[start : start + CHUNK]:
            assert isinstance(e, MoneyDeposited)
            account.deposit(e.amount)
        app.save(account)  # snapshots every 100 are taken by the save, as on a command path
    app.close()
    yield dsn, account.id
    runner.run(drop_database(settings.pg_dsn, database))


def _measure_threads(runner: Runner, connections: int, total: int, work: Any) -> Any:
    """A coroutine running `work(worker, count)` on `connections` threads, off our loop."""
    executor = ThreadPoolExecutor(max_workers=connections)

    async def round_() -> None:
        loop = asyncio.get_running_loop()
        share, extra = divmod(total, connections)
        await asyncio.gather(
            *(
                loop.run_in_executor(executor, work, w, share + (w < extra))
                for w in range(connections)
            )
        )

    return round_, executor


# --- ours


def test_peer_ours_append_commands(
    benchmark: Any, runner: Runner, settings: Settings, suite: Suite, ours: PostgresEventStore
) -> None:
    cfg = suite.peers
    handlers = CommandHandlers(
        ours, dataclasses.replace(settings, snapshot_every=cfg.snapshot_every)
    )
    run = next(_runs)
    accounts = [f"peer-ours-{run}-{w}" for w in range(cfg.connections)]
    runner.run(_open_all(ours, accounts))
    rng = random.Random(suite.seed)

    async def work(worker: int, count: int) -> None:
        for _ in range(count):
            await handlers.handle(Deposit(account_id=accounts[worker], amount=rng.randint(1, 9)))

    runner.measure(
        benchmark,
        lambda: spread_over(cfg.connections, cfg.appends_per_round, work),
        rounds=cfg.rounds,
        warmup_rounds=1,
        kind="peer",
        side="ours",
        workload="append_commands",
        events=cfg.appends_per_round,
    )


def test_peer_ours_append_events(
    benchmark: Any, runner: Runner, suite: Suite, ours: PostgresEventStore
) -> None:
    cfg = suite.peers
    run = next(_runs)
    versions = [0] * cfg.connections

    async def work(worker: int, count: int) -> None:
        for _ in range(count):
            await ours.append(
                [
                    StreamAppend(
                        aggregate_id=f"peer-append-{run}-{worker}",
                        aggregate_type="BankAccount",
                        expected_version=versions[worker],
                        events=[MoneyDeposited(amount=100 + versions[worker])],
                    )
                ]
            )
            versions[worker] += 1

    runner.measure(
        benchmark,
        lambda: spread_over(cfg.connections, cfg.appends_per_round, work),
        rounds=cfg.rounds,
        warmup_rounds=1,
        kind="peer",
        side="ours",
        workload="append_events",
        events=cfg.appends_per_round,
    )


@pytest.mark.parametrize("snapshots", [False, True], ids=["snapshots=off", "snapshots=on"])
def test_peer_ours_replay(
    benchmark: Any, runner: Runner, suite: Suite, ours: PostgresEventStore, snapshots: bool
) -> None:
    repository = Repository(ours, suite.peers.snapshot_every if snapshots else None)

    async def rehydrate() -> BankAccount:
        return await repository.load(BankAccount, "peer-replay")

    account = runner.measure(
        benchmark,
        rehydrate,
        rounds=suite.peers.rounds,
        warmup_rounds=1,
        kind="peer",
        side="ours",
        workload="replay_snapshots" if snapshots else "replay",
        events=suite.peers.replay_events,
    )
    assert account.version == suite.peers.replay_events


async def _open_all(store: PostgresEventStore, ids: list[str]) -> None:
    for aggregate_id in ids:
        await seed_account(store, aggregate_id, [AccountOpened(owner_id="owner")])


# --- eventsourcing


def test_peer_eventsourcing_append_commands(
    benchmark: Any, runner: Runner, suite: Suite, bank: tuple[str, uuid.UUID]
) -> None:
    cfg = suite.peers
    app = Bank(env=eventsourcing_env(bank[0], cfg.connections, snapshots=True))
    ids = []
    for _ in range(cfg.connections):
        account = Account(owner_id="owner")
        app.save(account)
        ids.append(account.id)
    rng = random.Random(suite.seed)

    def work(worker: int, count: int) -> None:
        for _ in range(count):
            current: Account = app.repository.get(ids[worker])
            current.deposit(rng.randint(1, 9))
            app.save(current)

    round_, executor = _measure_threads(runner, cfg.connections, cfg.appends_per_round, work)
    try:
        runner.measure(
            benchmark,
            round_,
            rounds=cfg.rounds,
            warmup_rounds=1,
            kind="peer",
            side="eventsourcing",
            workload="append_commands",
            events=cfg.appends_per_round,
        )
    finally:
        executor.shutdown()
        app.close()


@pytest.mark.parametrize("snapshots", [False, True], ids=["snapshots=off", "snapshots=on"])
def test_peer_eventsourcing_replay(
    benchmark: Any, runner: Runner, suite: Suite, bank: tuple[str, uuid.UUID], snapshots: bool
) -> None:
    app = Bank(env=eventsourcing_env(bank[0], 2, snapshots=snapshots))
    executor = ThreadPoolExecutor(max_workers=1)
    account_id = bank[1]

    async def rehydrate() -> Account:
        return await asyncio.get_running_loop().run_in_executor(
            executor, app.repository.get, account_id
        )

    try:
        account = runner.measure(
            benchmark,
            rehydrate,
            rounds=suite.peers.rounds,
            warmup_rounds=1,
            kind="peer",
            side="eventsourcing",
            workload="replay_snapshots" if snapshots else "replay",
            events=suite.peers.replay_events,
        )
    finally:
        executor.shutdown()
        app.close()
    assert account.version == suite.peers.replay_events


# --- message-db

WRITE = "SELECT message_store.write_message($1, $2, $3, $4::jsonb, NULL, $5)"
READ = "SELECT type, data FROM message_store.get_stream_messages($1, $2, $3)"


async def _message_db_pool(dsn: str, size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn, min_size=size, max_size=size, server_settings={"search_path": "message_store,public"}
    )


def test_peer_message_db_append_events(
    benchmark: Any, runner: Runner, suite: Suite, peers_ready: str
) -> None:
    cfg = suite.peers
    pool: asyncpg.Pool = runner.run(_message_db_pool(peers_ready, cfg.connections))
    run = uuid.uuid4().hex[:8]
    versions = [-1] * cfg.connections

    async def work(worker: int, count: int) -> None:
        for _ in range(count):
            data = encode_event(MoneyDeposited(amount=100 + versions[worker])).decode()
            await pool.execute(
                WRITE,
                str(uuid.uuid4()),
                f"account-{run}x{worker}",
                "MoneyDeposited",
                data,
                versions[worker],
            )
            versions[worker] += 1

    try:
        runner.measure(
            benchmark,
            lambda: spread_over(cfg.connections, cfg.appends_per_round, work),
            rounds=cfg.rounds,
            warmup_rounds=1,
            kind="peer",
            side="message-db",
            workload="append_events",
            events=cfg.appends_per_round,
        )
    finally:
        runner.run(pool.close())


def test_peer_message_db_replay(
    benchmark: Any, runner: Runner, suite: Suite, peers_ready: str
) -> None:
    cfg = suite.peers
    pool: asyncpg.Pool = runner.run(_message_db_pool(peers_ready, 2))
    stream = f"account-{uuid.uuid4().hex}"
    events = account_events(cfg.replay_events, random.Random(suite.seed))

    async def seed() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                WRITE,
                [
                    (str(uuid.uuid4()), stream, e.type_name(), encode_event(e).decode(), i - 1)
                    for i, e in enumerate(events)
                ],
            )

    async def rehydrate() -> BankAccount:
        account = BankAccount(stream)
        position = 0
        while True:
            rows = await pool.fetch(READ, stream, position, CHUNK)
            account.apply_all(decode_event(t, d) for t, d in rows)
            position += len(rows)
            if len(rows) < CHUNK:
                return account

    runner.run(seed())
    try:
        account = runner.measure(
            benchmark,
            rehydrate,
            rounds=cfg.rounds,
            warmup_rounds=1,
            kind="peer",
            side="message-db",
            workload="replay",
            events=cfg.replay_events,
        )
    finally:
        runner.run(pool.close())
    assert account.version == cfg.replay_events
