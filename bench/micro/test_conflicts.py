"""Optimistic-concurrency conflicts: W writers depositing into K accounts, keys uniform or Zipf.

Each writer runs `Deposit` commands back to back through `CommandHandlers` (load → decide →
append), on its own connection; with retry on, a lost race is re-run up to `retry_attempts`
times with jittered backoff. Every round opens fresh accounts, so streams stay short and rounds
are independent.

Each writer's store stamps every attempt's read → append window: from the moment its load
returned the stream (the version it will append after) to the moment its append committed or
failed. The per-round mean window, attempt rate and counts go into `extra_info`;
`bench/micro/sections/conflicts.py` turns them into the row, the model's prediction
(`conflict_model`) and their intervals. The benchmark then checks what it wrote: attempts =
commands + retries, conflicts = failed appends, and every committed deposit is in its stream
at the version its command was answered with.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from bench.micro.conflict_model import key_probabilities
from bench.micro.harness import Latencies, Runner, quantile
from bench.micro.suite import Suite, load_suite
from system.app.commands import CommandHandlers
from system.app.retry import RetryPolicy
from system.bootstrap import open_event_store
from system.config import Settings
from system.domain.account import BankAccount
from system.domain.commands import Deposit
from system.domain.errors import ConcurrencyError
from system.domain.events import AccountOpened, Event
from system.domain.recorded import Metadata
from system.eventstore.postgres import PostgresEventStore
from system.ports import AppendResult, IdempotencyRecord, Snapshot, StreamAppend

_runs = itertools.count()

STREAMS = """
SELECT aggregate_id, count(*) AS events, max(version) AS version
FROM events WHERE aggregate_id = ANY($1::text[]) GROUP BY aggregate_id
"""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    suite = load_suite(str(metafunc.config.getoption("--suite")))
    if "writers" in metafunc.fixturenames:
        metafunc.parametrize("writers", suite.conflicts.writers, ids=lambda w: f"writers={w}")
    if "skew" in metafunc.fixturenames:
        metafunc.parametrize("skew", suite.conflicts.skew, ids=lambda s: f"keys={s}")
    if "retry" in metafunc.fixturenames:
        metafunc.parametrize(
            "retry", suite.conflicts.retry, ids=lambda r: f"retry={'on' if r else 'off'}"
        )


@dataclasses.dataclass
class Attempts:
    """Every append attempt of a round: its read → append window and whether it conflicted."""

    reads: list[float] = dataclasses.field(default_factory=list)
    ends: list[float] = dataclasses.field(default_factory=list)
    conflicts: int = 0

    @property
    def windows(self) -> list[float]:
        return [end - read for read, end in zip(self.reads, self.ends, strict=True)]


class WindowedStore(PostgresEventStore):
    """One writer's view of the shared pool that stamps each attempt's read → append window.

    A writer runs one command at a time, so the last load it returned is the read its next
    append depends on.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.attempts = Attempts()
        self._read_at = 0.0

    async def load_events(
        self,
        aggregate_id: str,
        *,
        after_version: int = 0,
        until_version: int | None = None,
        until_time: datetime | None = None,
    ) -> list[Event]:
        events = await super().load_events(
            aggregate_id,
            after_version=after_version,
            until_version=until_version,
            until_time=until_time,
        )
        self._read_at = time.perf_counter()
        return events

    async def append(
        self,
        streams: Sequence[StreamAppend],
        metadata: Metadata | None = None,
        *,
        snapshots: Sequence[Snapshot] = (),
        recorded_at: datetime | None = None,
        idempotency: IdempotencyRecord | None = None,
    ) -> AppendResult:
        try:
            return await super().append(
                streams,
                metadata,
                snapshots=snapshots,
                recorded_at=recorded_at,
                idempotency=idempotency,
            )
        except ConcurrencyError:
            self.attempts.conflicts += 1
            raise
        finally:
            self.attempts.reads.append(self._read_at)
            self.attempts.ends.append(time.perf_counter())


@dataclasses.dataclass
class Ledger:
    """What the writers were told, to check against the store after the rounds."""

    committed: Counter[str] = dataclasses.field(default_factory=Counter)
    versions: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    failed: int = 0


def test_conflicts(
    benchmark: Any,
    runner: Runner,
    micro_dsn: str,
    settings: Settings,
    suite: Suite,
    writers: int,
    skew: str,
    retry: bool,
) -> None:
    cfg = suite.conflicts
    store: PostgresEventStore = runner.run(
        open_event_store(settings, dsn=micro_dsn, min_size=writers, max_size=writers)
    )
    probabilities = key_probabilities(skew, cfg.aggregates)
    handlers_settings = dataclasses.replace(settings, snapshot_every=None)
    policies = [
        RetryPolicy(cfg.retry_attempts if retry else 1, rng=random.Random(suite.seed + w))
        for w in range(writers)
    ]
    rngs = [random.Random(suite.seed * 1000 + w) for w in range(writers)]
    latencies = Latencies()
    ledger = Ledger()
    per_round: dict[str, list[float]] = {
        k: [] for k in ("attempts", "conflicts", "committed", "seconds", "window_mean")
    }
    window_p50: list[float] = []
    window_p90: list[float] = []
    all_keys: list[str] = []
    keys: list[str] = []

    async def fresh_keys() -> None:
        keys[:] = [f"conflict-{next(_runs)}-{k}" for k in range(cfg.aggregates)]
        all_keys.extend(keys)
        await _open_accounts(store, keys)

    async def writer(view: WindowedStore, w: int, count: int) -> None:
        handlers = CommandHandlers(view, handlers_settings, policies[w])
        rng = rngs[w]
        for _ in range(count):
            key = rng.choices(keys, probabilities)[0]
            command = Deposit(account_id=key, amount=rng.randint(100, 99_999))
            started = time.perf_counter()
            try:
                result = await handlers.handle(command)
                ledger.committed[key] += 1
                ledger.versions.setdefault(key, []).append(result.version)
            except ConcurrencyError:
                ledger.failed += 1
            latencies.samples.append(time.perf_counter() - started)

    async def round_() -> float:
        views = [WindowedStore(store.pool) for _ in range(writers)]
        committed_before = sum(ledger.committed.values())
        share, extra = divmod(cfg.commands, writers)
        started = time.perf_counter()
        await asyncio.gather(*(writer(views[w], w, share + (w < extra)) for w in range(writers)))
        wall = time.perf_counter() - started
        windows = [x for v in views for x in v.attempts.windows]
        per_round["attempts"].append(len(windows))
        per_round["conflicts"].append(sum(v.attempts.conflicts for v in views))
        per_round["committed"].append(sum(ledger.committed.values()) - committed_before)
        per_round["seconds"].append(wall)
        per_round["window_mean"].append(statistics.fmean(windows))
        window_p50.append(quantile(windows, 0.5))
        window_p90.append(quantile(windows, 0.9))
        return wall

    try:
        runner.measure(
            benchmark,
            round_,
            rounds=cfg.rounds,
            setup=fresh_keys,
            kind="conflicts",
            writers=writers,
            aggregates=cfg.aggregates,
            skew=skew,
            retry=retry,
        )
        streams = {r["aggregate_id"]: r for r in runner.run(store.pool.fetch(STREAMS, all_keys))}
    finally:
        runner.run(store.close())
    benchmark.extra_info.update(
        retry_attempts=cfg.retry_attempts if retry else 1,
        commands=cfg.commands,
        round_attempts=per_round["attempts"],
        round_conflicts=per_round["conflicts"],
        round_committed=per_round["committed"],
        round_seconds=per_round["seconds"],
        round_window_mean=per_round["window_mean"],
        round_window_p50=window_p50,
        round_window_p90=window_p90,
        p99_seconds=latencies.p99(),
    )
    _check_what_was_written(
        cfg.commands * cfg.rounds, policies, per_round, ledger, streams, len(all_keys)
    )


def _check_what_was_written(
    commands: int,
    policies: list[RetryPolicy],
    per_round: dict[str, list[float]],
    ledger: Ledger,
    streams: dict[str, Any],
    opened: int,
) -> None:
    """Attempts = commands + retries, conflicts = failed appends, every commit in its stream."""
    assert len(streams) == opened, f"{opened} accounts opened, {len(streams)} streams found"
    attempts, conflicts = sum(per_round["attempts"]), sum(per_round["conflicts"])
    committed = sum(ledger.committed.values())
    assert committed + ledger.failed == commands
    assert sum(p.attempts for p in policies) == attempts
    assert sum(p.conflicts for p in policies) == conflicts
    retries = conflicts - ledger.failed
    assert attempts == commands + retries
    assert committed == attempts - conflicts
    for key, stream in streams.items():
        n = ledger.committed[key]
        assert stream["events"] == n + 1 and stream["version"] == n + 1, (key, dict(stream))
        assert sorted(ledger.versions.get(key, [])) == list(range(2, n + 2)), key


async def _open_accounts(store: PostgresEventStore, keys: list[str]) -> None:
    """Open every account of a round in one append."""
    await store.append(
        [
            StreamAppend(
                aggregate_id=key,
                aggregate_type=BankAccount.aggregate_type,
                expected_version=0,
                events=[AccountOpened(owner_id=f"owner-{key}")],
            )
            for key in keys
        ]
    )
