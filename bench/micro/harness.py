"""What the micro suites share: one event loop, measured rounds, scratch databases, latencies."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.micro.server_cpu import spent

RUN_TAG = f"p{os.getpid()}"
"""Names this run's databases and indices, so concurrent runs never share (or drop) them."""
MICRO_DATABASE = f"cqrs_bench_micro_{RUN_TAG}"
"""The database the micro suites write to, created fresh per run and dropped after it."""


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


DROP_WAIT_S = 10.0
"""How long a drop waits for the backends of connections just closed to exit."""


async def _drop(conn: asyncpg.Connection, database: str) -> None:
    """Drop `database`, waiting out backends that are still exiting.

    A pool's close returns once its sockets are closed, but each server backend exits on its
    own time; while one of the application role's is still there, `WITH (FORCE)` must signal
    it, which the owner role may not (a `make bench` run failed so, once, at a teardown).
    """
    deadline = time.monotonic() + DROP_WAIT_S
    while True:
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            return
        except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def recreate_database(dsn: str, database: str) -> str:
    """Drop and create `database` on the server of `dsn`; returns its DSN."""
    conn = await asyncpg.connect(dsn)
    try:
        await _drop(conn, database)
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return with_database(dsn, database)


async def drop_database(dsn: str, database: str) -> None:
    """Drop `database` on the server of `dsn` if it exists."""
    conn = await asyncpg.connect(dsn)
    try:
        await _drop(conn, database)
    finally:
        await conn.close()


async def ensure_database(dsn: str, database: str) -> str:
    """Create `database` on the server of `dsn` unless it exists; returns its DSN."""
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return with_database(dsn, database)


def quantile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of `samples` (0 for none)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


class Latencies:
    """Per-operation latencies collected across all measured rounds."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    async def timed(self, operation: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        result = await operation
        self.samples.append(time.perf_counter() - started)
        return result

    def p99(self) -> float:
        return quantile(self.samples, 0.99)


def shares(workers: int, total: int) -> list[int]:
    """How `spread_over` splits `total` operations: worker w's count, the first ones one more."""
    share, extra = divmod(total, workers)
    return [share + (1 if w < extra else 0) for w in range(workers)]


async def spread_over(
    workers: int, total: int, work: Callable[[int, int], Awaitable[None]]
) -> None:
    """Run `total` operations on `workers` concurrent workers: work(worker, count)."""
    await asyncio.gather(*(work(w, n) for w, n in enumerate(shares(workers, total))))


@dataclass(frozen=True)
class StreamRows:
    """What a table holds of one stream: its rows, its distinct versions and their range."""

    rows: int
    versions: int
    first: int
    last: int


async def count_rows(dsn: str, table: str) -> int:
    """The rows `table` holds now, read back by a connection of its own (0 before it exists)."""
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", table) is None:
            return 0
        count: int = await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()
    return count


async def stream_rows(dsn: str, table: str, streams: Sequence[str]) -> dict[str, StreamRows]:
    """Per stream of `streams` found in `table` (events' columns): its rows and versions."""
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetch(
            "SELECT aggregate_id, count(*), count(DISTINCT version), min(version), max(version)"
            f" FROM {table} WHERE aggregate_id = ANY($1::text[]) GROUP BY aggregate_id",
            list(streams),
        )
    finally:
        await conn.close()
    return {r[0]: StreamRows(r[1], r[2], r[3], r[4]) for r in found}


def stream_faults(found: Mapping[str, StreamRows], expected: Mapping[str, int]) -> list[str]:
    """What keeps each stream of `expected` from holding exactly versions 1..n (n its value),
    one line per stream; none when every stream is whole."""
    faults: list[str] = []
    for name, n in expected.items():
        got = found.get(name)
        if got is None:
            faults.append(f"{name}: no rows, expected versions 1..{n}")
        elif got != StreamRows(n, n, 1, n):
            faults.append(
                f"{name}: {got.rows} rows, {got.versions} distinct versions"
                f" {got.first}..{got.last}, expected versions 1..{n} once each"
            )
    return faults


def section_of(nodeid: str) -> str:
    """The results section of a micro benchmark: `bench/micro/test_replay.py::t` -> `replay`."""
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return module.removesuffix(".py").removeprefix("test_")


class Runner:
    """Runs coroutines for pytest-benchmark on the session's single event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def run(self, coroutine: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(coroutine)

    def measure(
        self,
        benchmark: Any,
        operation: Callable[[], Awaitable[Any]],
        *,
        rounds: int,
        setup: Callable[[], Awaitable[Any]] | None = None,
        warmup_rounds: int = 0,
        ceilings: Sequence[tuple[str, Callable[[], Awaitable[Any]]]] = (),
        cpu: Callable[[], Mapping[int, float]] | None = None,
        **info: Any,
    ) -> Any:
        """Time `operation` for `rounds` rounds (one iteration each); `info` tags the result.

        With `ceilings` (each the kind of a ceiling benchmark, and one round of its work), a
        round of each ceiling's work runs right before each round, after `setup`, in order, and
        their seconds are kept as `extra_info["paired"]` (one `{kind, seconds}` per ceiling):
        each ratio is then judged per pair (`figures.ratio`).
        With `cpu` (a reading of the CPU seconds that each process doing the work has spent,
        `server_cpu.cpu_seconds`), each round's CPU is kept too, read outside the timed
        operation: `extra_info["cpu_seconds"]` for ours, `cpu_seconds` in each paired entry.
        The benchmark's pytest-benchmark group is its results section (unless a
        `@pytest.mark.benchmark(group=...)` named one), for `--benchmark-group-by=group`.

        What exists before the rounds (pytest, the fixtures) is frozen out of the garbage
        collector's reach while they run, as the services freeze what they build at start
        (`system/runtime.py`): otherwise every full collection in a round walks the test
        session's heap, which no service has (issue 14: a projector's decoding of 3,000 events
        from Kafka took 16 ms per round unfrozen, 9 ms frozen).
        """
        benchmark.extra_info.update(info)
        if benchmark.group is None:
            benchmark.group = section_of(str(benchmark.fullname))
        paired: dict[str, list[float]] = {kind: [] for kind, _ in ceilings}
        assert len(paired) == len(ceilings), f"ceiling kinds repeat: {[k for k, _ in ceilings]}"
        paired_cpu: dict[str, list[float]] = {kind: [] for kind, _ in ceilings}
        ours_cpu: list[float] = []
        mark: list[Mapping[int, float]] = []  # the CPU reading as the last round started

        def timed() -> Any:
            return self.run(operation())

        def prepare() -> None:
            if cpu is not None and mark:
                ours_cpu.append(spent(mark.pop(), cpu()))
            if setup is not None:
                self.run(setup())
            for kind, work in ceilings:
                before = cpu() if cpu is not None else {}
                started = time.perf_counter()
                self.run(work())
                paired[kind].append(time.perf_counter() - started)
                if cpu is not None:
                    paired_cpu[kind].append(spent(before, cpu()))
            if cpu is not None:
                mark.append(cpu())

        gc.collect()
        gc.freeze()
        try:
            result = benchmark.pedantic(
                timed,
                setup=prepare if setup is not None or ceilings or cpu is not None else None,
                rounds=rounds,
                iterations=1,
                warmup_rounds=warmup_rounds,
            )
        finally:
            gc.unfreeze()
        measured = slice(warmup_rounds, warmup_rounds + rounds)
        if cpu is not None:
            ours_cpu.append(spent(mark.pop(), cpu()))
            benchmark.extra_info["cpu_seconds"] = ours_cpu[measured]
        if ceilings:
            benchmark.extra_info["paired"] = [
                {"kind": kind, "seconds": seconds[measured]}
                | ({"cpu_seconds": paired_cpu[kind][measured]} if cpu is not None else {})
                for kind, seconds in paired.items()
            ]
        return result
