"""Append throughput: batches of 1 and 10 events at 1 … 64 connections, snapshots on or off.

Ours goes through `PostgresEventStore.append` (OCC guard, outbox row, due snapshot in the same
statement); with snapshots on, each worker keeps its account in memory and includes the snapshot
the command path would write (`Repository.snapshot_due`). Ceilings, on pools set up like the
store's (no reset query on release): one raw asyncpg INSERT of the same rows into a plain table
with the same columns and no guard (one row as VALUES, as the store sends one event; more from
`unnest`), and for batches one binary COPY of those rows (`copy_records_to_table`). Each round of
ours runs right after a round of that raw INSERT on a pool of its own (for batches, a round of that
COPY runs before that INSERT), so each ratio is judged per pair (bench/micro/figures.py). The COPY
ratio was not paired at first: in two quick suites run back to back its ceiling held at
47,000-50,000 events/s while ours at 16 connections moved from 17,720 to 31,695 events/s with the
machine, and the ratio read 0.375 (MISSED), then 0.633 (MET).

When PostgreSQL runs on this machine, each round of ours and of the paired ceilings is metered:
the CPU that this process and PostgreSQL's processes spent in it (`bench/micro/server_cpu.py`),
read between rounds. On a machine the rounds keep busy, that explains the ratio.

After its rounds, each benchmark reads back what it wrote, with SQL of its own: the table grew by
exactly the events of every round (warm-up included), outbox rows beside them for ours, and each
worker's stream holds versions 1..n once each (n its events), with ours' last snapshot where the
command path takes it.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg
import pytest

from bench.micro.harness import (
    Latencies,
    Runner,
    count_rows,
    shares,
    spread_over,
    stream_faults,
    stream_rows,
)
from bench.micro.raw_events import RAW_INSERT, RAW_INSERT_ONE, RAW_TABLE
from bench.micro.server_cpu import cpu_seconds, server_pids
from bench.micro.suite import Suite, load_suite
from system.app.repository import Repository
from system.bootstrap import open_event_store
from system.config import Settings
from system.domain.account import BankAccount
from system.domain.codec import encode_event
from system.domain.events import AccountOpened, Event, MoneyDeposited
from system.eventstore.pool import keep_session
from system.eventstore.postgres import PostgresEventStore
from system.ports import StreamAppend

SNAPSHOT_EVERY = 100
WARMUP_ROUNDS = 1
_streams = itertools.count()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    suite = load_suite(str(metafunc.config.getoption("--suite")))
    if "connections" in metafunc.fixturenames:
        metafunc.parametrize("connections", suite.append.connections, ids=lambda c: f"conn={c}")
    if "batch" in metafunc.fixturenames:
        metafunc.parametrize("batch", suite.append.batch, ids=lambda b: f"batch={b}")
    if "copy_batch" in metafunc.fixturenames:
        batches = [b for b in suite.append.batch if b > 1]
        metafunc.parametrize("copy_batch", batches, ids=lambda b: f"batch={b}")
    if "snapshots" in metafunc.fixturenames:
        metafunc.parametrize(
            "snapshots", suite.append.snapshots, ids=lambda s: f"snapshots={'on' if s else 'off'}"
        )


def deposits(batch: int, rng: random.Random) -> list[Event]:
    return [MoneyDeposited(amount=rng.randint(100, 99_999)) for _ in range(batch)]


def raw_pool(runner: Runner, dsn: str, connections: int) -> asyncpg.Pool:
    """A pool of `connections` released as the store's are (no reset query), with the table.

    Built here, not by the composition root: a ceiling must not go through our code."""

    async def open_() -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            dsn, min_size=connections, max_size=connections, reset=keep_session
        )
        await pool.execute(RAW_TABLE)
        return pool

    pool: asyncpg.Pool = runner.run(open_())
    return pool


def expected_streams(
    suite: Suite, connections: int, batch: int, name: Callable[[int], str], opening: int = 0
) -> dict[str, int]:
    """Each worker's stream and the events it holds after every round, warm-up included."""
    rounds = suite.append.rounds + WARMUP_ROUNDS
    per_round = shares(connections, suite.append.appends_per_round)
    return {name(w): opening + n * rounds * batch for w, n in enumerate(per_round)}


def snapshot_version(events: int, batch: int) -> int:
    """Where the last snapshot of a stream of one opening then appends of `batch` sits: the
    version after the last append that crossed a multiple of SNAPSHOT_EVERY (0: none)."""
    crossed = [v for v in range(1 + batch, events + 1, batch) if v % SNAPSHOT_EVERY < batch]
    return crossed[-1] if crossed else 0


def assert_appended(
    runner: Runner,
    dsn: str,
    table: str,
    expected: Mapping[str, int],
    before: Mapping[str, int],
) -> None:
    """`expected` (stream -> events) is what `table` holds of those streams, and each table of
    `before` (table -> its rows before the rounds) grew by exactly their sum."""
    total = sum(expected.values())
    for name, rows in before.items():
        grown = runner.run(count_rows(dsn, name)) - rows
        assert grown == total, f"{name} grew by {grown} rows, {total} events were appended"
    faults = stream_faults(runner.run(stream_rows(dsn, table, list(expected))), expected)
    assert not faults, "\n".join(faults)


def measure_appends(
    benchmark: Any,
    runner: Runner,
    suite: Suite,
    work: Callable[[int, int], Awaitable[None]],
    latencies: Latencies,
    close: Callable[[], Awaitable[None]],
    *,
    kind: str,
    connections: int,
    batch: int,
    ceilings: Sequence[tuple[str, Callable[[], Awaitable[Any]]]] = (),
    cpu: Callable[[], Mapping[int, float]] | None = None,
    **info: Any,
) -> None:
    """Time rounds of `appends_per_round` calls of `work` spread over `connections` workers
    (each after a round of each of `ceilings`' work, CPU metered by `cpu` if given), close
    what they used, and record the p99 of one append."""

    async def round_() -> None:
        await spread_over(connections, suite.append.appends_per_round, work)

    try:
        runner.measure(
            benchmark,
            round_,
            rounds=suite.append.rounds,
            warmup_rounds=WARMUP_ROUNDS,
            ceilings=ceilings,
            cpu=cpu,
            kind=kind,
            connections=connections,
            batch=batch,
            **info,
            events=suite.append.appends_per_round * batch,
        )
    finally:
        runner.run(close())
    benchmark.extra_info["p99_seconds"] = latencies.p99()


def raw_inserts(
    pool: asyncpg.Pool,
    rng: random.Random,
    batch: int,
    name: Callable[[int], str],
    latencies: Latencies,
) -> Callable[[int, int], Awaitable[None]]:
    """A worker of the raw INSERT ceiling: `count` statements of `batch` rows to its stream."""
    versions: dict[str, int] = {}

    async def work(worker: int, count: int) -> None:
        stream = name(worker)
        for _ in range(count):
            start = versions.get(stream, 0)
            events = deposits(batch, rng)
            versions[stream] = start + batch
            if batch == 1:
                (e,) = events
                kind, data = BankAccount.aggregate_type, encode_event(e).decode()
                args = (stream, kind, start + 1, e.type_name(), e.schema_version, data)
                insert = pool.execute(RAW_INSERT_ONE, *args)
            else:
                insert = pool.execute(
                    RAW_INSERT,
                    [stream] * batch,
                    [BankAccount.aggregate_type] * batch,
                    list(range(start + 1, start + batch + 1)),
                    [e.type_name() for e in events],
                    [e.schema_version for e in events],
                    [encode_event(e).decode() for e in events],
                )
            await latencies.timed(insert)

    return work


def test_append_raw_insert(
    benchmark: Any, runner: Runner, micro_dsn: str, suite: Suite, connections: int, batch: int
) -> None:
    measure_raw(benchmark, runner, micro_dsn, suite, connections, batch, raw_inserts, "raw")


COPY_COLUMNS = ("aggregate_id", "aggregate_type", "version", "event_type", "schema_version", "data")


def raw_copies(
    pool: asyncpg.Pool,
    rng: random.Random,
    batch: int,
    name: Callable[[int], str],
    latencies: Latencies,
) -> Callable[[int, int], Awaitable[None]]:
    """A worker of the COPY ceiling: `count` binary COPYs of `batch` rows to its stream."""
    versions: dict[str, int] = {}

    async def copy(records: list[tuple[Any, ...]]) -> None:
        async with pool.acquire() as conn:
            await conn.copy_records_to_table("raw_events", records=records, columns=COPY_COLUMNS)

    async def work(worker: int, count: int) -> None:
        stream = name(worker)
        for _ in range(count):
            start = versions.get(stream, 0)
            versions[stream] = start + batch
            records = [
                (
                    stream,
                    BankAccount.aggregate_type,
                    start + i + 1,
                    e.type_name(),
                    e.schema_version,
                    encode_event(e).decode(),
                )
                for i, e in enumerate(deposits(batch, rng))
            ]
            await latencies.timed(copy(records))

    return work


def test_append_raw_copy(
    benchmark: Any, runner: Runner, micro_dsn: str, suite: Suite, connections: int, copy_batch: int
) -> None:
    measure_raw(benchmark, runner, micro_dsn, suite, connections, copy_batch, raw_copies, "copy")


Ceiling = Callable[
    [asyncpg.Pool, random.Random, int, Callable[[int], str], Latencies],
    Callable[[int, int], Awaitable[None]],
]
"""A ceiling's worker factory: `raw_inserts` or `raw_copies`."""


def measure_raw(
    benchmark: Any,
    runner: Runner,
    dsn: str,
    suite: Suite,
    connections: int,
    batch: int,
    ceiling: Ceiling,
    label: str,
) -> None:
    """A ceiling benchmark alone (kind `append_<label>`, streams `<label>-<c>-<b>-<worker>`),
    its rows read back after."""
    pool = raw_pool(runner, dsn, connections)
    latencies = Latencies()
    name = functools.partial(f"{label}-{{}}-{{}}-{{}}".format, connections, batch)
    work = ceiling(pool, random.Random(suite.seed), batch, name, latencies)
    before = {"raw_events": runner.run(count_rows(dsn, "raw_events"))}
    measure_appends(benchmark, runner, suite, work, latencies, pool.close,
                    kind=f"append_{label}", connections=connections, batch=batch)  # fmt: skip
    expected = expected_streams(suite, connections, batch, name)
    assert_appended(runner, dsn, "raw_events", expected, before)


def test_append(
    benchmark: Any,
    runner: Runner,
    settings: Settings,
    micro_dsn: str,
    suite: Suite,
    connections: int,
    batch: int,
    snapshots: bool,
) -> None:
    rng = random.Random(suite.seed)
    store: PostgresEventStore = runner.run(
        open_event_store(settings, dsn=micro_dsn, min_size=connections, max_size=connections)
    )
    pool = raw_pool(runner, micro_dsn, connections)
    repository = Repository(store, SNAPSHOT_EVERY if snapshots else None)
    latencies = Latencies()
    run = next(_streams)
    accounts: dict[int, BankAccount] = {}

    async def work(worker: int, count: int) -> None:
        account = accounts.get(worker)
        if account is None:
            account = BankAccount(f"append-{run}-{worker}")
            opened = AccountOpened(owner_id=f"owner-{worker}")
            await store.append([stream(account, [opened])])
            account.apply(opened)
            accounts[worker] = account
        for _ in range(count):
            events = deposits(batch, rng)
            due = repository.snapshot_due(account, account.version + batch)
            change = stream(account, events)
            account.apply_all(events)
            taken = [Repository.snapshot(account)] if due else []
            await latencies.timed(store.append([change], snapshots=taken))

    def paired_name(worker: int) -> str:
        return f"paired-{run}-{worker}"

    def copied_name(worker: int) -> str:
        return f"paired-copy-{run}-{worker}"

    raw_work = raw_inserts(pool, random.Random(suite.seed), batch, paired_name, Latencies())
    copy_work = raw_copies(pool, random.Random(suite.seed), batch, copied_name, Latencies())

    async def raw_round() -> None:
        await spread_over(connections, suite.append.appends_per_round, raw_work)

    async def copy_round() -> None:
        await spread_over(connections, suite.append.appends_per_round, copy_work)

    # COPY is the faster way PostgreSQL takes a batch: the batched rows' second ceiling. It
    # runs first, so that the raw INSERT stays right before ours, as for single events.
    ceilings = [("append_copy", copy_round)] if batch > 1 else []
    ceilings.append(("append_raw", raw_round))

    async def close() -> None:
        await store.close()
        await pool.close()

    # This process and PostgreSQL's, if it runs here: the CPU that ours and the ceilings spend.
    server = runner.run(server_pids(micro_dsn))
    cpu = functools.partial(cpu_seconds, [os.getpid(), *server]) if server else None
    tables = ("events", "outbox", "raw_events")
    before = {t: runner.run(count_rows(micro_dsn, t)) for t in tables}
    measure_appends(benchmark, runner, suite, work, latencies, close, kind="append",
                    connections=connections, batch=batch, snapshots=snapshots,
                    ceilings=ceilings, cpu=cpu)  # fmt: skip
    expected = expected_streams(suite, connections, batch, lambda w: f"append-{run}-{w}", 1)
    assert_appended(runner, micro_dsn, "events", expected, {t: before[t] for t in tables[:2]})
    paired = expected_streams(suite, connections, batch, paired_name)
    if batch > 1:
        paired |= expected_streams(suite, connections, batch, copied_name)
    assert_appended(runner, micro_dsn, "raw_events", paired, {"raw_events": before["raw_events"]})
    taken = runner.run(snapshot_versions(micro_dsn, list(expected)))
    due = {s: snapshot_version(n, batch) if snapshots else 0 for s, n in expected.items()}
    wanted = {s: v for s, v in due.items() if v}
    assert taken == wanted, f"snapshots at {taken}, expected at {wanted}"


async def snapshot_versions(dsn: str, streams: list[str]) -> dict[str, int]:
    """The version of each stream's snapshot, read back from the snapshots table."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT aggregate_id, version FROM snapshots WHERE aggregate_id = ANY($1)", streams
        )
    finally:
        await conn.close()
    return {r["aggregate_id"]: r["version"] for r in rows}


def stream(account: BankAccount, events: list[Event]) -> StreamAppend:
    return StreamAppend(
        aggregate_id=account.id,
        aggregate_type=account.aggregate_type,
        expected_version=account.version,
        events=events,
    )
