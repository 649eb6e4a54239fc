"""Peers on the same PostgreSQL, same account streams, same durability: `eventsourcing` and
message-db, each driven the way its authors drive it (bench/micro/peer_drivers.py says why the
comparison is fair).

Appends: a sweep of concurrency proposes each side's own best; then ours and the peer, at our
connection count and at the sweep's picks, are timed in one rotation of alternating rounds, giving
a "same concurrency" row and a "best vs best" row (each side at the faster of the two it ran at).
Replays: one rehydrate per round on each side, alternating. A peer that is not installed fails
this suite. After the appends, each side's own table is counted: it grew by exactly the events
its sweep and rotation appended (accounts opened, warm-ups and timed rounds). Our side appends
into a database fresh per comparison; the plans its appends ran on are kept (`ours_plans`).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest

from bench.micro.harness import (
    RUN_TAG,
    Runner,
    count_rows,
    drop_database,
    recreate_database,
    with_database,
)
from bench.micro.peer_drivers import (
    EVENTSOURCING_EVENTS,
    MESSAGE_DB_MESSAGES,
    MESSAGE_DB_SEARCH_PATH,
    WRITE_MESSAGE,
    Account,
    Bank,
    EventsourcingCommands,
    MessageDbEvents,
    OursCommands,
    OursEvents,
    Rotation,
    Side,
    best_level,
    eventsourcing_env,
    ours_plans,
    stored_by_rotation,
    stored_by_sweep,
    sweep,
)
from bench.micro.peers import (
    EVENTSOURCING_DATABASE,
    MESSAGE_DB_DATABASE,
    OURS_DATABASE,
    analyze,
    fresh_event_store,
    fresh_message_db,
    require_eventsourcing,
    require_message_db,
)
from bench.micro.streams import account_events, seed_account
from bench.micro.suite import Suite
from bench.report.constants import UNIT_COMMANDS_PER_S, UNIT_EVENTS_PER_S
from system.app.repository import Repository
from system.config import Settings
from system.domain.account import BankAccount
from system.domain.codec import decode_event, encode_event
from system.domain.events import AccountOpened, MoneyDeposited
from system.eventstore.postgres import PostgresEventStore

CHUNK = 1000
REPLAY_ID = "peer-replay"
READ = "SELECT type, data FROM message_store.get_stream_messages($1, $2, $3)"


@pytest.fixture(scope="module")
def peers_ready(runner: Runner, settings: Settings) -> str:
    """Both peers present (or this fails, saying how to install them); returns message-db's DSN."""
    require_eventsourcing()
    dsn = with_database(settings.pg_owner_dsn, MESSAGE_DB_DATABASE)
    runner.run(require_message_db(dsn))
    return dsn


@pytest.fixture(scope="module")
def message_db_dsn(runner: Runner, settings: Settings, peers_ready: str) -> Iterator[str]:
    """message-db installed (as in its own database) into a database fresh for this run."""
    database = f"{MESSAGE_DB_DATABASE}_{RUN_TAG}"
    dsn: str = runner.run(fresh_message_db(settings, database))
    yield dsn
    runner.run(drop_database(settings.pg_owner_dsn, database))


@pytest.fixture(scope="module")
def eventsourcing_dsn(runner: Runner, settings: Settings, peers_ready: str) -> Iterator[str]:
    """eventsourcing's database, fresh for this run and dropped after it."""
    database = f"{EVENTSOURCING_DATABASE}_{RUN_TAG}"
    dsn: str = runner.run(recreate_database(settings.pg_owner_dsn, database))
    yield dsn
    runner.run(drop_database(settings.pg_owner_dsn, database))


@pytest.fixture
def ours_dsn(runner: Runner, settings: Settings) -> Iterator[str]:
    """Our event store in a database fresh for each append comparison, as message-db's."""
    database = f"{OURS_DATABASE}_{RUN_TAG}"
    dsn: str = runner.run(fresh_event_store(settings, database))
    yield dsn
    runner.run(drop_database(settings.pg_owner_dsn, database))


def _record(
    benchmark: Any,
    peer: str,
    workload: str,
    unit: str,
    events: int,
    matchups: list[dict[str, Any]],
    **more: Any,
) -> None:
    info = {"peer": peer, "workload": workload, "unit": unit, "events": events}
    benchmark.extra_info.update(kind="peer_pair", matchups=matchups, **info, **more)


def _matchup(
    concurrency: int | str, ours: tuple[int, list[float]], theirs: tuple[int, list[float]]
) -> dict[str, Any]:
    return {
        "concurrency": concurrency,
        "ours_concurrency": ours[0],
        "theirs_concurrency": theirs[0],
        "ours_seconds": ours[1],
        "theirs_seconds": theirs[1],
    }


def _timed_rotation(benchmark: Any, runner: Runner, rotation: Rotation, rounds: int) -> None:
    """Open `rotation`, let pytest-benchmark time `rounds` of its rounds, close it."""
    runner.run(rotation.open())
    try:
        runner.measure(benchmark, rotation.round, rounds=rounds)
    finally:
        runner.run(rotation.close())


# --- appends: a sweep, then same concurrency and best vs best, alternating rounds


Stored = dict[str, tuple[str, str, int]]
"""Per side: the database and table its events land in, and the events each writer opens with."""


def _append_sides(
    peer: str, settings: Settings, suite: Suite, ours_dsn: str, es_dsn: str, mdb_dsn: str
) -> tuple[str, Callable[[], Side], Callable[[], Side], Stored]:
    """(unit, ours, theirs, where each stores): commands (an account opened per writer) for
    eventsourcing, single-event appends for message-db."""
    if peer == "eventsourcing":
        return (
            UNIT_COMMANDS_PER_S,
            lambda: OursCommands(ours_dsn, settings, suite.peers.snapshot_every, suite.seed),
            lambda: EventsourcingCommands(es_dsn, suite.seed),
            {"ours": (ours_dsn, "events", 1), "theirs": (es_dsn, EVENTSOURCING_EVENTS, 1)},
        )
    return (
        UNIT_EVENTS_PER_S,
        lambda: OursEvents(ours_dsn),
        lambda: MessageDbEvents(mdb_dsn),
        {"ours": (ours_dsn, "events", 0), "theirs": (mdb_dsn, MESSAGE_DB_MESSAGES, 0)},
    )


@pytest.mark.parametrize("peer", ["eventsourcing", "message-db"])
def test_peer_append(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    suite: Suite,
    ours_dsn: str,
    eventsourcing_dsn: str,
    message_db_dsn: str,
    peer: str,
) -> None:
    cfg = suite.peers
    unit, ours, theirs, stored = _append_sides(
        peer, settings, suite, ours_dsn, eventsourcing_dsn, message_db_dsn
    )
    before = {side: runner.run(count_rows(dsn, table)) for side, (dsn, table, _) in stored.items()}
    sweeps = {
        side: runner.run(sweep(make, cfg.sweep, cfg.sweep_appends, cfg.sweep_rounds))
        for side, make in (("ours", ours), ("theirs", theirs))
    }
    n = cfg.connections
    candidate = {side: best_level(times) for side, times in sweeps.items()}
    # ours and theirs at our connection count and at the sweep's best, all in one rotation
    keys = [("ours", n), ("theirs", n), ("ours", candidate["ours"])]
    keys = list(dict.fromkeys([*keys, ("theirs", candidate["theirs"])]))
    make = {"ours": ours, "theirs": theirs}
    rotation = Rotation([(make[side](), level) for side, level in keys], cfg.appends_per_round)
    _timed_rotation(benchmark, runner, rotation, cfg.rounds)
    measured = {key: (key[1], rotation.seconds[i]) for i, key in enumerate(keys)}
    # each side's best: the faster, in the rotation, of our connection count and the sweep's pick
    best = {
        side: best_level({level: measured[side, level][1] for level in (n, candidate[side])})
        for side in ("ours", "theirs")
    }
    matchups = [
        _matchup(n, measured["ours", n], measured["theirs", n]),
        _matchup("best", measured["ours", best["ours"]], measured["theirs", best["theirs"]]),
    ]
    _record(
        benchmark,
        peer,
        "append",
        unit,
        cfg.appends_per_round,
        matchups,
        sweep_events=cfg.sweep_appends,
        sweep={
            side: [{"concurrency": level, "seconds": s} for level, s in times.items()]
            for side, times in sweeps.items()
        },
        ours_plans=ours_plans(rotation.sides),
    )
    assert all(len(m["ours_seconds"]) == cfg.rounds for m in matchups)
    for side, (dsn, table, opening) in stored.items():
        levels = [level for s, level in keys if s == side]
        appended = stored_by_sweep(cfg.sweep, cfg.sweep_appends, cfg.sweep_rounds, opening)
        appended += stored_by_rotation(levels, cfg.appends_per_round, cfg.rounds, opening)
        grown = runner.run(count_rows(dsn, table)) - before[side]
        assert grown == appended, f"{side}: {table} grew by {grown}, {appended} were appended"


# --- replays: one rehydrate per round and side, alternating


class OursReplay:
    """Our repository rehydrating the seeded account (snapshot + tail, or every event)."""

    def __init__(self, dsn: str, snapshot_every: int | None) -> None:
        self.dsn, self.snapshot_every = dsn, snapshot_every
        self.version = 0

    async def open(self, concurrency: int) -> None:
        self.store = await PostgresEventStore.open(self.dsn, min_size=1, max_size=1)
        self.repository = Repository(self.store, self.snapshot_every)

    async def run(self, count: int) -> None:
        self.version = (await self.repository.load(BankAccount, REPLAY_ID)).version

    async def close(self) -> None:
        await self.store.close()


class EventsourcingReplay:
    """eventsourcing's repository getting the seeded account on a thread of its own."""

    def __init__(self, dsn: str, account_id: uuid.UUID, snapshots: bool) -> None:
        self.dsn, self.account_id, self.snapshots = dsn, account_id, snapshots
        self.version = 0

    async def open(self, concurrency: int) -> None:
        self.app = Bank(env=eventsourcing_env(self.dsn, 1, snapshots=self.snapshots))
        self.executor = ThreadPoolExecutor(max_workers=1)

    async def run(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        account: Account = await loop.run_in_executor(
            self.executor, self.app.repository.get, self.account_id
        )
        self.version = account.version

    async def close(self) -> None:
        self.executor.shutdown()
        self.app.close()


class MessageDbReplay:
    """message-db's `get_stream_messages`, paged as its clients page, folded into our account."""

    def __init__(self, dsn: str, stream: str) -> None:
        self.dsn, self.stream = dsn, stream
        self.version = 0

    async def open(self, concurrency: int) -> None:
        self.pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=1, server_settings=MESSAGE_DB_SEARCH_PATH
        )

    async def run(self, count: int) -> None:
        account = BankAccount(self.stream)
        position = 0
        while True:
            rows = await self.pool.fetch(READ, self.stream, position, CHUNK)
            account.apply_all(decode_event(t, d) for t, d in rows)
            position += len(rows)
            if len(rows) < CHUNK:
                break
        self.version = account.version

    async def close(self) -> None:
        await self.pool.close()


@pytest.fixture(scope="module")
def ours_replay_dsn(runner: Runner, micro_dsn: str, suite: Suite) -> str:
    """The micro database with our seeded replay account (and its snapshot)."""

    async def seed() -> None:
        store = await PostgresEventStore.open(micro_dsn, min_size=1, max_size=1)
        try:
            events = account_events(suite.peers.replay_events, random.Random(suite.seed))
            await seed_account(store, REPLAY_ID, events, suite.peers.snapshot_every)
        finally:
            await store.close()
        await analyze(micro_dsn)

    runner.run(seed())
    return micro_dsn


@pytest.fixture(scope="module")
def bank_account(runner: Runner, eventsourcing_dsn: str, suite: Suite) -> uuid.UUID:
    """The same account in eventsourcing's database; snapshots every 100 taken by `save`."""
    app = Bank(env=eventsourcing_env(eventsourcing_dsn, 1, snapshots=True))
    events = account_events(suite.peers.replay_events, random.Random(suite.seed))
    opened = events[0]
    assert isinstance(opened, AccountOpened)
    account = Account(owner_id=opened.owner_id)
    for start in range(1, len(events), CHUNK):
        for e in events[start : start + CHUNK]:
            assert isinstance(e, MoneyDeposited)
            account.deposit(e.amount)
        app.save(account)
    app.close()
    runner.run(analyze(eventsourcing_dsn))
    return account.id


async def _seed_message_db(dsn: str, suite: Suite) -> str:
    stream = f"account-{uuid.uuid4().hex}"
    events = account_events(suite.peers.replay_events, random.Random(suite.seed))
    conn = await asyncpg.connect(dsn, server_settings=MESSAGE_DB_SEARCH_PATH)
    try:
        async with conn.transaction():
            await conn.executemany(
                WRITE_MESSAGE,
                [
                    (str(uuid.uuid4()), stream, e.type_name(), encode_event(e).decode(), i - 1)
                    for i, e in enumerate(events)
                ],
            )
    finally:
        await conn.close()
    await analyze(dsn)
    return stream


REPLAYS = [
    ("eventsourcing", "replay"),
    ("eventsourcing", "replay_snapshots"),
    ("message-db", "replay"),
]


@pytest.mark.parametrize(("peer", "workload"), REPLAYS, ids=[f"{p}-{w}" for p, w in REPLAYS])
def test_peer_replay(
    benchmark: Any,
    runner: Runner,
    suite: Suite,
    ours_replay_dsn: str,
    eventsourcing_dsn: str,
    message_db_dsn: str,
    peer: str,
    workload: str,
    request: pytest.FixtureRequest,
) -> None:
    cfg = suite.peers
    snapshots = workload == "replay_snapshots"
    ours = OursReplay(ours_replay_dsn, cfg.snapshot_every if snapshots else None)
    theirs: EventsourcingReplay | MessageDbReplay
    if peer == "eventsourcing":
        account_id: uuid.UUID = request.getfixturevalue("bank_account")
        theirs = EventsourcingReplay(eventsourcing_dsn, account_id, snapshots)
    else:
        stream = runner.run(_seed_message_db(message_db_dsn, suite))
        theirs = MessageDbReplay(message_db_dsn, stream)
    rotation = Rotation([(ours, 1), (theirs, 1)], 1)
    _timed_rotation(benchmark, runner, rotation, cfg.rounds)
    same = _matchup(1, (1, rotation.seconds[0]), (1, rotation.seconds[1]))
    _record(benchmark, peer, workload, UNIT_EVENTS_PER_S, cfg.replay_events, [same])
    assert ours.version == theirs.version == cfg.replay_events
