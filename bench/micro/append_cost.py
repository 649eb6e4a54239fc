"""Where a single-event append's time goes, step by step down to the raw INSERT ceiling.

`python -m bench.micro.append_cost [--rounds 12] [--connections 16] [--appends 240]`, on the
running stack: in a scratch database with the event store's schema (dropped afterwards), every
round runs each variant below once, `--appends` single-event appends spread over
`--connections` workers (a fresh stream each), in this order:

- `raw`: the micro suite's ceiling, `INSERT … VALUES` of the same row into a table with the same
  columns and only a primary key (`bench/micro/raw_events.py`);
- `bare`: the same `INSERT … VALUES` into `events` (its indexes and constraints, no guard);
- `guarded`: `APPEND_ONE`'s insert with its version guard, no outbox row, no NOTIFY check;
- `outbox`: that plus the outbox row;
- `statement`: `APPEND_ONE` whole (plus the debounced NOTIFY check), sent with `fetchval`;
- `store`: `PostgresEventStore.append`, what the micro suite's `append` measures.

Printed per variant: the median round's wall time, the median of the per-round ratios
raw / variant (the micro suite's pairing) with its interquartile range, the CPU per append of
the client (this process: the workers' event loop) and of PostgreSQL (all its processes, when
it runs on this machine: `bench/micro/server_cpu.py`), and raw's CPU over the variant's, both
summed. Each step's cost is the drop from the row above. On a machine that the rounds keep busy
(the shared 2-core one: 10-15 % idle), the wall ratio follows the CPU ratio, and the CPU
figures are the steadier of the two: they do not move with what else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.micro.harness import drop_database, recreate_database
from bench.micro.raw_events import RAW_INSERT_ONE, RAW_TABLE
from bench.micro.server_cpu import cpu_seconds, server_pids, spent
from system.bootstrap import migrate_event_store, open_event_store
from system.config import Settings
from system.domain.account import BankAccount
from system.domain.codec import encode_event
from system.domain.events import MoneyDeposited
from system.eventstore import append_sql
from system.eventstore.pool import keep_session
from system.eventstore.postgres import PostgresEventStore
from system.ports import StreamAppend

DATABASE = "cqrs_append_cost"
BARE = """
INSERT INTO events (aggregate_id, aggregate_type, version, event_type, schema_version, data,
                    metadata, recorded_at)
VALUES ($1::text, $2::text, $3::int, $4::text, $5::int2, $6::json, $7::jsonb,
        COALESCE($8::timestamptz, clock_timestamp()))
"""
_POSITION = "\nSELECT max(position) FROM ins"
GUARDED = append_sql._APPEND_ONE + _POSITION
OUTBOX = append_sql._APPEND_ONE + append_sql._OUTBOX_ROWS + _POSITION
VARIANTS = ("raw", "bare", "guarded", "outbox", "statement", "store")

Work = Callable[[str, int], Awaitable[object]]
"""One append of version `version` (1, 2, …) to stream `stream`."""


@dataclass
class Timings:
    """One variant's rounds: wall seconds, this process's and PostgreSQL's CPU seconds."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)


def ratios(raw: list[float], variant: list[float]) -> list[float]:
    """raw / variant round by round (the variant ran right after its raw round)."""
    return [r / v for r, v in zip(raw, variant, strict=True)]


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile)."""
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


async def spread(connections: int, appends: int, work: Work) -> None:
    """`appends` calls of `work` over `connections` workers, each on a stream of its own."""

    async def worker(count: int) -> None:
        stream = f"cost-{uuid.uuid4()}"
        for version in range(1, count + 1):
            await work(stream, version)

    share, extra = divmod(appends, connections)
    await asyncio.gather(*(worker(share + (i < extra)) for i in range(connections)))


def _row(stream: str, version: int) -> tuple[str, str, int, str, int, str]:
    event = MoneyDeposited(amount=version)
    data = encode_event(event).decode()
    return (
        stream,
        BankAccount.aggregate_type,
        version,
        event.type_name(),
        event.schema_version,
        data,
    )


def variants(store: PostgresEventStore, raw: asyncpg.Pool) -> dict[str, Work]:
    """What each variant does for one append."""
    pool = store.pool

    def statement(sql: str) -> Work:
        return lambda stream, version: pool.fetchval(sql, *_row(stream, version), "{}", None)

    def through_store(stream: str, version: int) -> Awaitable[object]:
        events = [MoneyDeposited(amount=version)]
        kind = BankAccount.aggregate_type
        append = StreamAppend(
            aggregate_id=stream, aggregate_type=kind, expected_version=version - 1, events=events
        )
        return store.append([append])

    return {
        "raw": lambda stream, version: raw.execute(RAW_INSERT_ONE, *_row(stream, version)),
        "bare": statement(BARE),
        "guarded": statement(GUARDED),
        "outbox": statement(OUTBOX),
        "statement": statement(append_sql.APPEND_ONE),
        "store": through_store,
    }


async def measure(rounds: int, connections: int, appends: int, console: Console) -> Table:
    """Run the rounds in a scratch database and tabulate them."""
    settings = Settings.from_env()
    dsn = await recreate_database(settings.pg_owner_dsn, DATABASE)
    try:
        await migrate_event_store(settings, dsn=dsn, grant=False)
        owner = await asyncpg.connect(dsn)
        try:
            await owner.execute(RAW_TABLE)
        finally:
            await owner.close()
        store = await open_event_store(
            settings, dsn=dsn, min_size=connections, max_size=connections
        )
        # As the micro suite's ceiling pool (`raw_pool`): released without a reset query, and
        # none of the store's own server settings.
        raw = await asyncpg.create_pool(
            dsn, min_size=connections, max_size=connections, reset=keep_session
        )
        try:
            pids = await server_pids(dsn)  # both pools' backends are open by now
            timings = await _rounds(
                variants(store, raw), pids, rounds, connections, appends, console
            )
        finally:
            await raw.close()
            await store.close()
    finally:
        await drop_database(settings.pg_owner_dsn, DATABASE)
    return _table(timings, rounds, connections, appends)


async def _rounds(
    work: dict[str, Work],
    pids: list[int],
    rounds: int,
    connections: int,
    appends: int,
    console: Console,
) -> dict[str, Timings]:
    timings = {name: Timings() for name in work}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("rounds (one warm-up)", total=rounds + 1)
        for round_ in range(rounds + 1):
            for name, one in work.items():
                server, wall, cpu = cpu_seconds(pids), time.perf_counter(), time.process_time()
                await spread(connections, appends, one)
                if round_:  # the first round warms plans, pools and caches
                    timings[name].wall.append(time.perf_counter() - wall)
                    timings[name].cpu.append(time.process_time() - cpu)
                    timings[name].server_cpu.append(spent(server, cpu_seconds(pids)))
            progress.advance(task)
    return timings


def _table(timings: dict[str, Timings], rounds: int, connections: int, appends: int) -> Table:
    table = Table(
        title=f"Single-event appends, {appends} per round at {connections} connections, "
        f"{rounds} rounds (scratch database)"
    )
    columns = (
        "variant",
        "median round",
        "raw / variant (IQR)",
        "client CPU / append",
        "PostgreSQL CPU / append",
        "CPU raw / variant",
    )
    for column in columns:
        table.add_column(column, justify="right" if column != "variant" else "left")
    raw = timings["raw"]
    local = any(raw.server_cpu)  # no server process here: PostgreSQL runs elsewhere
    for name, found in timings.items():
        q1, median, q3 = quartiles(ratios(raw.wall, found.wall))
        client, server = (statistics.median(c) / appends for c in (found.cpu, found.server_cpu))
        table.add_row(
            name,
            f"{statistics.median(found.wall) * 1e3:.1f} ms",
            f"{median:.2f} ({q1:.2f}-{q3:.2f})",
            f"{client * 1e6:.0f} µs",
            f"{server * 1e6:.0f} µs" if local else "-",
            f"{cpu_ratio(raw, found):.2f}" if local else "-",
        )
    return table


def cpu_ratio(raw: Timings, variant: Timings) -> float:
    """raw's CPU per round over the variant's, client and PostgreSQL summed (medians)."""
    totals = [
        statistics.median(c + s for c, s in zip(t.cpu, t.server_cpu, strict=True))
        for t in (raw, variant)
    ]
    return totals[0] / totals[1]


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.micro.append_cost`: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.micro.append_cost",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=12, help="measured rounds (default 12)")
    parser.add_argument(
        "--connections", type=int, default=16, help="concurrent workers (default 16)"
    )
    parser.add_argument("--appends", type=int, default=240, help="appends per round (default 240)")
    parsed = parser.parse_args(argv)
    for flag in ("rounds", "connections", "appends"):
        if getattr(parsed, flag) < 1:
            parser.error(f"--{flag} must be at least 1")
    if parsed.rounds < 2:
        parser.error("--rounds must be at least 2 (the IQR needs two rounds)")
    console = Console()
    console.print(asyncio.run(measure(parsed.rounds, parsed.connections, parsed.appends, console)))


if __name__ == "__main__":
    main()
