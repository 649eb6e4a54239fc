"""Each side of a peer comparison driven the way its authors drive it, measured fairly.

Why the comparison is fair:

- Same work: every side appends one deposit per operation to its own account stream (one
  stream per writer, so writers never conflict), with an expected version, on the same
  PostgreSQL server with the same durability (fsync and synchronous_commit on).
- Each peer through its own front door: message-db through `message_store.write_message(id,
  stream, type, data, NULL, expected_version)` on a pool of N connections (what its Ruby and
  Node clients send); eventsourcing through its application API (`repository.get`, the
  aggregate's command method, `save`) on N threads, with its own psycopg pool of N connections
  and snapshots every 100 events as ours; ours through our command handlers (commands) or our
  event store's `append` (events) on a pool of N connections.
- Same concurrency, then each at its best: N is our connection count; a sweep of concurrencies
  proposes each side's own best (eventsourcing's synchronous code peaks at a few threads,
  message-db's category lock at a few connections), the faster of that and N in the timed
  rotation is the side's best, and the best of each is compared too, so neither side is judged
  only at a concurrency that suits the other.
- Nothing but the operations is timed: pools are opened and filled, plpgsql and prepared
  statements compiled and accounts created before the first timed round, and a warm-up round of
  each side runs first.
- Same conditions: the sides' rounds alternate (ours then theirs, then theirs then ours, ...;
  the same-concurrency and best-vs-best sides all in one rotation), so a burst of load on this
  shared machine, a checkpoint or the page cache's write-back falls on both sides instead of on
  whichever ran at the time, and the garbage one side left is collected before the other's
  round starts. message-db's `write_message` holds an advisory lock on the stream's *category*
  until its transaction has committed (fsynced), so its writers to one category take turns
  through every commit: its rate is one over the lock's hold time, which a busy CPU or disk
  stretches directly, while ours (no shared lock; group commit) degrades in proportion.
  Measured minutes apart, that made the ratio swing from 0.8x to 9.6x (290 events/s for
  message-db in one run); measured alternately, both sides see the same machine.
- Same table state whatever ran before: ours appends into a database fresh per comparison, as
  message-db does, and the plans it ran on are kept (`PlanCounts`): PostgreSQL switches between
  a generic plan and planning every append as autovacuum analyzes or vacuums `events`, and the
  latter made ours 1.6-2.0x slower at 16 connections (6 rotations, forced generic vs custom).
- Checked from outside: tests/integration/test_peers.py runs message-db's `write_message`
  from PostgreSQL's own pgbench at the same concurrency and fails if our driver's rate differs
  from it by more than 1.5x.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import random
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol
from urllib.parse import urlsplit

import asyncpg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.micro.harness import spread_over
from system.app.commands import CommandHandlers
from system.bootstrap import open_event_store
from system.config import Settings
from system.domain.codec import encode_event
from system.domain.commands import Deposit, OpenAccount
from system.domain.events import MoneyDeposited
from system.eventstore.append_sql import APPEND, APPEND_EVENTS, APPEND_ONE
from system.eventstore.postgres import PostgresEventStore
from system.ports import StreamAppend

EVENTSOURCING_EVENTS = "bank_events"
"""Where eventsourcing stores `Bank`'s events: its recorder's table `<application name>_events`."""
MESSAGE_DB_MESSAGES = "message_store.messages"
MESSAGE_DB_SEARCH_PATH = {"search_path": "message_store,public"}
"""What message-db's own role sets: its functions name `messages` and each other unqualified."""
WRITE_MESSAGE = "SELECT message_store.write_message($1, $2, $3, $4::jsonb, NULL, $5)"
CUSTOM_PLANS_FIRST = 5
"""Executions of a prepared statement PostgreSQL plans afresh before it weighs a generic plan."""
APPEND_PLANS = """SELECT coalesce(sum(generic_plans), 0)::int, coalesce(sum(custom_plans), 0)::int
FROM pg_prepared_statements WHERE statement = ANY($1::text[])"""


@dataclasses.dataclass(frozen=True)
class PlanCounts:
    """How the executions of our append statement on a pool's connections were planned."""

    connections: int
    generic: int
    custom: int

    @property
    def mode(self) -> str:
        """`generic` when each connection planned afresh only its first executions, `custom`
        when none ran a generic plan, else `mixed` (the choice flipped during the run)."""
        if self.custom <= CUSTOM_PLANS_FIRST * self.connections:
            return "generic"
        return "custom" if self.generic == 0 else "mixed"


async def append_plans(pool: asyncpg.Pool) -> PlanCounts:
    """The plans our append statement ran on, over every connection of `pool` (all idle)."""
    held = [await pool.acquire() for _ in range(pool.get_size())]
    try:
        counts = [await c.fetchrow(APPEND_PLANS, [APPEND, APPEND_EVENTS, APPEND_ONE]) for c in held]
    finally:
        for conn in held:
            await pool.release(conn)
    return PlanCounts(len(held), sum(r[0] for r in counts), sum(r[1] for r in counts))


def ours_plans(sides: Sequence[tuple[Side, int]]) -> dict[str, dict[str, int | str]]:
    """Per concurrency of the closed `OursEvents` among `sides`, the plans its appends ran on."""
    return {
        str(level): {"mode": side.plans.mode, **dataclasses.asdict(side.plans)}
        for side, level in sides
        if isinstance(side, OursEvents) and side.plans is not None
    }


class Side(Protocol):
    """One side of a comparison: `open` at a concurrency (untimed), `run` (timed), `close`."""

    async def open(self, concurrency: int) -> None: ...

    async def run(self, count: int) -> None:
        """`count` operations spread over the open concurrency's writers."""

    async def close(self) -> None: ...


class Account(Aggregate):
    """The same bank account, in eventsourcing's style."""

    @event("Opened")
    def __init__(self, owner_id: str) -> None:
        self.owner_id = owner_id
        self.balance = 0

    @event("Deposited")
    def deposit(self, amount: int) -> None:
        self.balance += amount


class Bank(Application[uuid.UUID]):
    snapshotting_intervals = {Account: 100}  # noqa: RUF012 (eventsourcing's own declaration)


def eventsourcing_env(dsn: str, pool_size: int, snapshots: bool) -> dict[str, str]:
    """eventsourcing's settings for our PostgreSQL: a pool of exactly `pool_size` connections."""
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


class OursCommands:
    """Deposit commands through our command handlers (load, decide, append), one account each."""

    def __init__(self, dsn: str, settings: Settings, snapshot_every: int, seed: int) -> None:
        self.dsn, self.rng = dsn, random.Random(seed)
        self.settings = dataclasses.replace(settings, snapshot_every=snapshot_every)
        self.store: PostgresEventStore | None = None
        self.accounts: list[str] = []

    async def open(self, concurrency: int) -> None:
        self.store = await open_event_store(
            self.settings, dsn=self.dsn, min_size=concurrency, max_size=concurrency
        )
        self.handlers = CommandHandlers(self.store, self.settings)
        run_id = uuid.uuid4().hex[:8]
        self.accounts = [f"peer-ours-{run_id}-{w}" for w in range(concurrency)]
        for account in self.accounts:
            await self.handlers.handle(OpenAccount(account_id=account, owner_id="owner"))

    async def run(self, count: int) -> None:
        async def work(worker: int, n: int) -> None:
            for _ in range(n):
                deposit = Deposit(account_id=self.accounts[worker], amount=self.rng.randint(1, 9))
                await self.handlers.handle(deposit)

        await spread_over(len(self.accounts), count, work)

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()


class OursEvents:
    """Single-event appends with the expected version through our event store, a stream each."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.store: PostgresEventStore | None = None
        self.versions: list[int] = []
        self.plans: PlanCounts | None = None

    async def open(self, concurrency: int) -> None:
        self.store = await PostgresEventStore.open(
            self.dsn, min_size=concurrency, max_size=concurrency
        )
        self.run_id = uuid.uuid4().hex[:8]
        self.versions = [0] * concurrency

    async def run(self, count: int) -> None:
        store = self.store
        assert store is not None

        async def work(worker: int, n: int) -> None:
            for _ in range(n):
                version = self.versions[worker]
                append = StreamAppend(
                    aggregate_id=f"peer-append-{self.run_id}-{worker}",
                    aggregate_type="BankAccount",
                    expected_version=version,
                    events=[MoneyDeposited(amount=100 + version)],
                )
                await store.append([append])
                self.versions[worker] += 1

        await spread_over(len(self.versions), count, work)

    async def close(self) -> None:
        if self.store is not None:
            self.plans = await append_plans(self.store.pool)
            await self.store.close()


class MessageDbEvents:
    """message-db's `write_message` with the expected version, one `account-…` stream each."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pool: asyncpg.Pool | None = None
        self.versions: list[int] = []

    async def open(self, concurrency: int) -> None:
        self.pool = await asyncpg.create_pool(
            self.dsn,
            min_size=concurrency,
            max_size=concurrency,
            server_settings=MESSAGE_DB_SEARCH_PATH,
        )
        self.run_id = uuid.uuid4().hex[:8]
        self.versions = [-1] * concurrency

    async def run(self, count: int) -> None:
        pool = self.pool
        assert pool is not None

        async def work(worker: int, n: int) -> None:
            for _ in range(n):
                version = self.versions[worker]
                data = encode_event(MoneyDeposited(amount=100 + version)).decode()
                stream = f"account-{self.run_id}x{worker}"
                await pool.execute(
                    WRITE_MESSAGE, str(uuid.uuid4()), stream, "MoneyDeposited", data, version
                )
                self.versions[worker] += 1

        await spread_over(len(self.versions), count, work)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()


class EventsourcingCommands:
    """eventsourcing's application API on N threads: get, deposit, save; an account each."""

    def __init__(self, dsn: str, seed: int) -> None:
        self.dsn, self.rng = dsn, random.Random(seed)
        self.app: Bank | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.ids: list[uuid.UUID] = []

    async def open(self, concurrency: int) -> None:
        self.app = Bank(env=eventsourcing_env(self.dsn, concurrency, snapshots=True))
        self.executor = ThreadPoolExecutor(max_workers=concurrency)
        self.ids = []
        for _ in range(concurrency):
            account = Account(owner_id="owner")
            self.app.save(account)
            self.ids.append(account.id)

    def _work(self, worker: int, n: int) -> None:
        app = self.app
        assert app is not None
        for _ in range(n):
            account: Account = app.repository.get(self.ids[worker])
            account.deposit(self.rng.randint(1, 9))
            app.save(account)

    async def run(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        share, extra = divmod(count, len(self.ids))
        await asyncio.gather(
            *(
                loop.run_in_executor(self.executor, self._work, w, share + (w < extra))
                for w in range(len(self.ids))
            )
        )

    async def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown()
        if self.app is not None:
            self.app.close()


async def timed(side: Side, count: int) -> float:
    """Seconds for one round of `count` operations, after collecting the garbage of whatever ran
    before (so neither side pays for the other's allocations)."""
    gc.collect()
    started = time.perf_counter()
    await side.run(count)
    return time.perf_counter() - started


class Rotation:
    """Sides open at their concurrencies, timed in rounds that visit each in turn: forwards in
    even rounds, backwards in odd ones (AB, BA, ...), so all see the same state of the machine.

    `open` runs one untimed warm-up round of each side (connections, plans, caches).
    """

    def __init__(self, sides: Sequence[tuple[Side, int]], count: int) -> None:
        self.sides = list(sides)
        self.count = count
        self.seconds: list[list[float]] = [[] for _ in self.sides]
        self.opened = 0

    async def open(self) -> None:
        for side, concurrency in self.sides:
            await side.open(concurrency)
            self.opened += 1
        for side, _ in self.sides:
            await side.run(self.count)

    async def round(self) -> None:
        order = list(range(len(self.sides)))
        if len(self.seconds[0]) % 2:
            order.reverse()
        for i in order:
            self.seconds[i].append(await timed(self.sides[i][0], self.count))

    async def close(self) -> None:
        for side, _ in self.sides[: self.opened]:
            await side.close()


async def sweep(
    make: Callable[[], Side], levels: Sequence[int], count: int, rounds: int
) -> dict[int, list[float]]:
    """Round times of one side at each concurrency: every level open at once and warmed up
    (`sweep_warmup`), then timed in rounds that visit the levels in turn (reversed every other
    round, so drift falls on all of them)."""
    sides: dict[int, Side] = {}
    try:
        for level in levels:
            sides[level] = make()
            await sides[level].open(level)
            await sides[level].run(sweep_warmup(level, count))
        times: dict[int, list[float]] = {level: [] for level in levels}
        for r in range(rounds):
            for level in levels if r % 2 == 0 else list(reversed(levels)):
                times[level].append(await timed(sides[level], count))
        return times
    finally:
        for side in sides.values():
            await side.close()


def sweep_warmup(level: int, count: int) -> int:
    """A sweep level's untimed operations: a round's `count`, and enough for each writer to get
    past the executions PostgreSQL plans afresh. With one per writer, the first of 3 rounds at 16
    ran on those slower plans and was the slowest in 11 runs out of 11 (3 of 6 after)."""
    return max(count, (CUSTOM_PLANS_FIRST + 1) * level)


def stored_by_sweep(levels: Sequence[int], count: int, rounds: int, opening: int) -> int:
    """Events a `sweep` adds: per level, `opening` per writer, its warm-up and `rounds` rounds."""
    return sum(opening * level + sweep_warmup(level, count) + rounds * count for level in levels)


def stored_by_rotation(levels: Sequence[int], count: int, rounds: int, opening: int) -> int:
    """Events a `Rotation` of `count` per round adds to sides open at `levels`, over its
    warm-up round and `rounds` timed rounds, each writer's stream starting with `opening`."""
    return sum(opening * level + (1 + rounds) * count for level in levels)


def best_level(times: dict[int, list[float]]) -> int:
    """The concurrency with the shortest median round (the highest rate)."""
    return min(times, key=lambda level: (statistics.median(times[level]), level))
