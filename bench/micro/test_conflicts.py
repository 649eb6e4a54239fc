"""Optimistic-concurrency conflicts: W writers depositing into K accounts, keys uniform or Zipf.

Each writer runs `Deposit` commands back to back through `CommandHandlers` (load → decide →
append), on its own connection; with retry on, a lost race is re-run up to `retry_attempts`
times with jittered backoff. Beside the measurement, the model in `conflict_model` predicts
the conflict rate from W and the key probabilities, with the read→append window taken as the
whole command (ratio 1: a command reads first and its append is its last step).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import time
from typing import Any

import pytest

from bench.micro.conflict_model import key_probabilities, predicted_conflict_rate
from bench.micro.harness import Latencies, Runner
from bench.micro.streams import seed_account
from bench.micro.suite import Suite, load_suite
from system.app.commands import CommandHandlers
from system.app.retry import RetryPolicy
from system.config import Settings
from system.domain.commands import Deposit
from system.domain.errors import ConcurrencyError
from system.domain.events import AccountOpened
from system.eventstore.postgres import PostgresEventStore

_runs = itertools.count()


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
        PostgresEventStore.open(micro_dsn, min_size=writers, max_size=writers)
    )
    probabilities = key_probabilities(skew, cfg.aggregates)
    keys = [f"conflict-{next(_runs)}-{k}" for k in range(cfg.aggregates)]
    runner.run(_open_accounts(store, keys))
    handlers_settings = dataclasses.replace(settings, snapshot_every=None)
    policies = [
        RetryPolicy(cfg.retry_attempts if retry else 1, rng=random.Random(suite.seed + w))
        for w in range(writers)
    ]
    latencies = Latencies()
    outcome = {"committed": 0, "failed": 0}

    async def writer(w: int, count: int) -> None:
        rng = random.Random(suite.seed * 1000 + w)
        handlers = CommandHandlers(store, handlers_settings, policies[w])
        for _ in range(count):
            key = rng.choices(keys, probabilities)[0]
            command = Deposit(account_id=key, amount=rng.randint(100, 99_999))
            started = time.perf_counter()
            try:
                await handlers.handle(command)
                outcome["committed"] += 1
            except ConcurrencyError:
                outcome["failed"] += 1
            latencies.samples.append(time.perf_counter() - started)

    async def round_() -> float:
        share, extra = divmod(cfg.commands, writers)
        started = time.perf_counter()
        await asyncio.gather(*(writer(w, share + (w < extra)) for w in range(writers)))
        return time.perf_counter() - started

    try:
        wall = runner.measure(
            benchmark,
            round_,
            rounds=1,
            kind="conflicts",
            writers=writers,
            aggregates=cfg.aggregates,
            skew=skew,
            retry=retry,
        )
    finally:
        runner.run(store.close())
    attempts = sum(p.attempts for p in policies)
    conflicts = sum(p.conflicts for p in policies)
    benchmark.extra_info.update(
        attempts=attempts,
        conflicts=conflicts,
        conflict_rate=conflicts / attempts,
        predicted_conflict_rate=predicted_conflict_rate(writers, probabilities),
        committed_per_s=outcome["committed"] / wall,
        p99_seconds=latencies.p99(),
    )
    assert outcome["committed"] + outcome["failed"] == cfg.commands


async def _open_accounts(store: PostgresEventStore, keys: list[str]) -> None:
    for key in keys:
        await seed_account(store, key, [AccountOpened(owner_id=f"owner-{key}")])
