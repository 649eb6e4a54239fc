"""Replay cost: rehydrating accounts of 10 … 100,000 events, snapshots off and every N.

Every suite length n is replayed in full. For each interval k <= n, streams of n + r events hold
a snapshot at n, so rehydrating them loads the snapshot and replays a tail of r events (r = 1,
k // 2, k - 1: the suite's `tails`); the tail each row reports is what the store returned after
the snapshot, counted in every round. Ceilings: the raw asyncpg fetch of the same rows (the whole
stream, or the snapshot row and the tail in one statement, as the store reads them), and decode
+ fold of rows already fetched. Each round of a replay runs right after a round of its ceiling's
fetch, so its ratio is judged per pair.

The raw fetch is the ceiling the issue names (rows as the driver returns them). It reads by the
replay's own predicate (stream and version window) so that both sides are planned alike: the
store's connections run PostgreSQL's generic plan, which is built from the table's contents, and
a stream-only fetch switched between an index scan in version order (3.6-4.1 ms for 10,000 rows)
and a bitmap scan plus sort (8.5 ms) depending on what else the suite had stored, which once
made an unchanged replay's ratio 0.90 instead of 0.39. The store has PostgreSQL hand each page
of a stream over as one JSON array, so the replay skips the driver's record per row that the
fetch pays for; decode and fold then come on top. Each round's rehydrated version and replayed
count are asserted.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from bench.micro.harness import Runner
from bench.micro.plans import plan_of
from bench.micro.streams import ReplayStream, replay_streams, seed_replay_streams
from bench.micro.suite import ReplaySuite, Suite, load_suite
from system.app.repository import Rehydrated, Repository
from system.domain.account import BankAccount
from system.domain.codec import decode_event
from system.eventstore.postgres import PostgresEventStore
from system.eventstore.stream_sql import LOAD_LATEST, REPLAY, REPLAY_PAGE

RAW_FETCH = (
    "SELECT event_type, data FROM events"
    " WHERE aggregate_id = $1 AND version > $2 AND version <= $3 ORDER BY version"
)
RAW_SNAPSHOT_AND_TAIL = """
SELECT version, 'snapshot', state FROM snapshots WHERE aggregate_id = $1
UNION ALL
SELECT version, event_type, data FROM events
WHERE aggregate_id = $1 AND version > (SELECT version FROM snapshots WHERE aggregate_id = $1)
"""
LAST_VERSION = 2**31 - 1

Case = tuple[ReplayStream, int | None]


def full_streams(replay: ReplaySuite) -> list[ReplayStream]:
    """Streams replayed with snapshots off: every suite length, and the tailed streams of the
    lengths up to `compare_up_to`."""
    return [
        s
        for n, streams in replay_streams(replay).items()
        for s in streams
        if not s.tail or n <= replay.compare_up_to
    ]


def tailed_streams(replay: ReplaySuite) -> list[ReplayStream]:
    return [s for streams in replay_streams(replay).values() for s in streams if s.tail]


def replay_cases(replay: ReplaySuite) -> list[Case]:
    """(stream, interval) per row: full replays, then each interval's tails after its snapshot."""
    cases: list[Case] = [(s, None) for s in full_streams(replay)]
    for n in replay.events:
        for k in replay.intervals_for(n):
            cases += [(ReplayStream(n, r), k) for r in replay.tails_of(k)]
    return cases


def stream_name(s: ReplayStream) -> str:
    return f"events={s.base}" + (f"+{s.tail}" if s.tail else "")


def case_name(case: Case) -> str:
    stream, every = case
    return f"{stream_name(stream)}-snapshots={every or 'off'}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    replay = load_suite(str(metafunc.config.getoption("--suite"))).replay
    if "events" in metafunc.fixturenames:
        metafunc.parametrize("events", replay.events, ids=lambda n: f"events={n}")
    if "full" in metafunc.fixturenames:
        metafunc.parametrize("full", full_streams(replay), ids=stream_name)
    if "tailed" in metafunc.fixturenames:
        metafunc.parametrize("tailed", tailed_streams(replay), ids=stream_name)
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", replay_cases(replay), ids=case_name)


async def fetch_stream(store: PostgresEventStore, stream: ReplayStream) -> list[asyncpg.Record]:
    """The ceiling of a full replay: the stream's rows, raw."""
    async with store.pool.acquire() as conn:
        rows: list[asyncpg.Record] = await conn.fetch(
            RAW_FETCH, stream.aggregate_id, 0, stream.events
        )
        return rows


async def fetch_snapshot_and_tail(
    store: PostgresEventStore, stream: ReplayStream
) -> list[asyncpg.Record]:
    """The ceiling of a replay after a snapshot: the snapshot row and the rows after it, raw, in
    one statement as the store reads them (`LOAD_LATEST`)."""
    async with store.pool.acquire() as conn:
        rows: list[asyncpg.Record] = await conn.fetch(RAW_SNAPSHOT_AND_TAIL, stream.aggregate_id)
        return rows


@pytest.fixture(scope="module")
def streams(runner: Runner, store: PostgresEventStore, suite: Suite) -> None:
    runner.run(seed_replay_streams(store, suite.replay, suite.seed))


def test_replay_raw_fetch(
    benchmark: Any,
    runner: Runner,
    store: PostgresEventStore,
    suite: Suite,
    streams: None,
    full: ReplayStream,
) -> None:
    rows = runner.measure(
        benchmark,
        lambda: fetch_stream(store, full),
        rounds=suite.replay.rounds,
        warmup_rounds=1,
        kind="replay_fetch",
        events=full.events,
        base=full.base,
    )
    assert len(rows) == full.events


def test_replay_raw_snapshot_and_tail(
    benchmark: Any,
    runner: Runner,
    store: PostgresEventStore,
    suite: Suite,
    streams: None,
    tailed: ReplayStream,
) -> None:
    rows = runner.measure(
        benchmark,
        lambda: fetch_snapshot_and_tail(store, tailed),
        rounds=suite.replay.rounds,
        warmup_rounds=1,
        kind="replay_fetch_tail",
        events=tailed.events,
        tail_events=tailed.tail,
    )
    assert len(rows) == 1 + tailed.tail


def test_replay_decode_fold(
    benchmark: Any,
    runner: Runner,
    store: PostgresEventStore,
    suite: Suite,
    streams: None,
    events: int,
) -> None:
    rows = runner.run(
        store.pool.fetch(RAW_FETCH, ReplayStream(events, 0).aggregate_id, 0, LAST_VERSION)
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
    case: Case,
) -> None:
    stream, every = case
    repository = Repository(store, every)
    counted: set[tuple[int, int]] = set()

    async def rehydrate() -> Rehydrated[BankAccount]:
        rehydrated = await repository.rehydrate(BankAccount, stream.aggregate_id)
        counted.add((rehydrated.snapshot_version, rehydrated.replayed_events))
        return rehydrated

    if every is None:
        ceiling = ("replay_fetch", lambda: fetch_stream(store, stream))
    else:
        ceiling = ("replay_fetch_tail", lambda: fetch_snapshot_and_tail(store, stream))
    rehydrated: Rehydrated[BankAccount] = runner.measure(
        benchmark,
        rehydrate,
        rounds=suite.replay.rounds,
        warmup_rounds=1,
        ceilings=[ceiling],
        kind="replay",
        events=stream.events,
        snapshot_every=every,
    )
    if every is None:
        ours = (REPLAY, [stream.aggregate_id, 0, min(stream.events, REPLAY_PAGE)])
        raw = (RAW_FETCH, [stream.aggregate_id, 0, stream.events])
    else:
        ours = (LOAD_LATEST, [stream.aggregate_id, REPLAY_PAGE])
        raw = (RAW_SNAPSHOT_AND_TAIL, [stream.aggregate_id])
    benchmark.extra_info["plan"] = runner.run(plan_of(store.pool, *ours))
    benchmark.extra_info["ceiling_plan"] = runner.run(plan_of(store.pool, *raw))
    benchmark.extra_info["snapshot_version"] = rehydrated.snapshot_version
    benchmark.extra_info["tail_events"] = rehydrated.replayed_events
    assert rehydrated.aggregate.version == stream.events
    expected = (stream.base, stream.tail) if every else (0, stream.events)
    assert counted == {expected}, f"the store replayed {counted}, expected {expected}"
