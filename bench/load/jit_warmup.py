"""Warming the stack's JVMs under the run's own load until their JIT compilers settle.

A run measured while Elasticsearch's compilers are still busy measures its warm-up. Five
consecutive `cqrs-bench load --scenario orders --rate 50 --duration 60 --warmup 5` runs right
after `cqrs-bench up` (issue 14; the JIT time from `jstat -compiler`, wall time summed over the
compiler threads, in each run's ~2 minutes):

| run | Elasticsearch JIT s | end-to-end lag p50 / p99 | corrected request p99 |
|---|---|---|---|
| 1 | 95.1 | 324 / 850 ms | - |
| 2 | 65.0 | 203 / 530 ms | - |
| 3 | 25.7 | 134 / 360 ms | - |
| 4 | 9.7 | 134 / 300 ms | 65 ms |
| 5 | 5.7 | 120 / 300 ms | 61 ms |

Lag halved as the compilations fell, with the same load and the same CPU in every run; the tail
of cold methods compiles for many minutes more. So before the measured run, `--jit-warmup`
offers the run's scenario at its rate in rounds of `ROUND_S` seconds, unmeasured, until a round
in which every JVM's compilations (wall time, summed over its compiler threads) took at most
`WARMING_SHARE` of the round's load time, or until its time limit (wall time, which includes
each round's locust start and lead time: about 6 s a round). Each round is a locust run of its
own, in `jit-warmup/round-N`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from bench.load.config import LoadConfig
from bench.load.jit import WARMING_SHARE
from bench.load.locust_process import STOP_TIMEOUT_S, LocustProcesses, run_time_s
from bench.load.resources import stack_roots, take_snapshot
from system.config import Settings

ROUND_S = 15.0
"""Seconds of load in one warm-up round (its locust process adds its lead time)."""
WARMUP_DIR = "jit-warmup"


class WarmupError(RuntimeError):
    """A warm-up round's locust process failed."""


@dataclass(frozen=True)
class WarmupRound:
    """One round: its seconds of load, its wall seconds (with locust's start and lead time) and
    each JVM group's compile seconds in it."""

    load_s: float
    seconds: float
    jit_seconds: Mapping[str, float]

    def shares(self) -> dict[str, float]:
        """Each JVM group's compile seconds as a share of the round's load time."""
        return {name: s / self.load_s for name, s in self.jit_seconds.items() if self.load_s}

    def settled(self, share: float) -> bool:
        """Whether every JVM compiled for at most `share` of the round's load time."""
        return all(value <= share for value in self.shares().values())

    def describe(self) -> str:
        """One line for the console: its length and each JVM's compile share."""
        shares = ", ".join(f"{name} {v:.2f}" for name, v in sorted(self.shares().items()))
        return (
            f"JIT warm-up round of {self.load_s:.0f} s of load ({self.seconds:.0f} s in all):"
            f" compile share {shares or '-'}"
        )


@dataclass
class JitWarmup:
    """The warm-up's rounds, its limit and whether its last round settled."""

    limit_s: float
    share: float = WARMING_SHARE
    rounds: list[WarmupRound] = field(default_factory=list)

    @property
    def settled(self) -> bool:
        """Whether the last round measured some JVM and every one compiled little enough."""
        last = self.rounds[-1] if self.rounds else None
        return last is not None and bool(last.jit_seconds) and last.settled(self.share)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.rounds)

    @property
    def load_s(self) -> float:
        return sum(r.load_s for r in self.rounds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "limit_s": self.limit_s,
            "share": self.share,
            "settled": self.settled,
            "seconds": round(self.seconds, 3),
            "load_seconds": round(self.load_s, 3),
            "rounds": [
                {
                    "load_seconds": round(r.load_s, 3),
                    "seconds": round(r.seconds, 3),
                    "jit_seconds": {k: round(v, 3) for k, v in sorted(r.jit_seconds.items())},
                }
                for r in self.rounds
            ],
        }

    def note(self) -> str:
        """What the warm-up did, for the run's notes."""
        last = self.rounds[-1].shares() if self.rounds else {}
        shares = ", ".join(f"{name} {value:.2f}" for name, value in sorted(last.items()))
        head = (
            f"JIT warm-up: {len(self.rounds)} round(s), {self.load_s:.0f} s of the run's load"
            f" ({self.seconds:.0f} s in all)"
        )
        if not last:
            return f"{head}; no JVM's compile counters were readable"
        if self.settled:
            limit = f"at most {self.share:.2f} of a round's load time"
            return f"{head}, until the JVMs compiled for {limit} ({shares})"
        return (
            f"{head}: the {self.limit_s:.0f} s limit came first, and the last round's compile "
            f"shares were {shares} (settled: at most {self.share:.2f})"
        )


Read = Callable[[], Awaitable[tuple[float, dict[str, float]]]]
"""Now (epoch seconds) and each JVM group's cumulative compile seconds."""


def compiled(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """Compile seconds between two readings, per JVM group read at both; a counter that fell
    (the JVM restarted) counts from zero."""
    return {
        name: after[name] - before[name] if after[name] >= before[name] else after[name]
        for name in after
        if name in before
    }


async def settle(
    run_round: Callable[[int, float], Awaitable[None]],
    read: Read,
    *,
    limit_s: float,
    round_s: float = ROUND_S,
    share: float = WARMING_SHARE,
    on_round: Callable[[WarmupRound], Any] | None = None,
) -> JitWarmup:
    """Run rounds (`run_round(number, seconds of load)`) until one settles or `limit_s` (wall
    time) is spent. A round is cut to the time left, and none shorter than half a round follows
    the first: a short round compiles little and would pass for settled."""
    warmup = JitWarmup(limit_s, share)
    while (left := limit_s - warmup.seconds) > 0 and (not warmup.rounds or left >= round_s / 2):
        load_s = min(round_s, left)
        started, before = await read()
        await run_round(len(warmup.rounds) + 1, load_s)
        ended, after = await read()
        done = WarmupRound(load_s, ended - started, compiled(before, after))
        warmup.rounds.append(done)
        if on_round is not None:
            on_round(done)
        if done.settled(share):
            break
    return warmup


async def warm_jvms(
    config: LoadConfig,
    settings: Settings,
    out: Path,
    limit_s: float,
    on_round: Callable[[WarmupRound], Any] | None = None,
) -> JitWarmup | None:
    """Offer `config`'s load (seeded already) in rounds until the stack's JVMs settle or
    `limit_s` is spent; None for a `limit_s` of 0."""
    if limit_s <= 0:
        return None
    await asyncio.to_thread(shutil.rmtree, out / WARMUP_DIR, ignore_errors=True)

    async def run_round(number: int, seconds: float) -> None:
        where = out / WARMUP_DIR / f"round-{number}"
        where.mkdir(parents=True, exist_ok=True)
        round_config = msgspec.structs.replace(
            config, duration_s=seconds, warmup_s=0.0, samples_dir=str(where)
        )
        locust = await LocustProcesses.start(
            round_config, settings.api_url, where, dict(os.environ), html=False
        )
        code = await locust.wait(run_time_s(round_config) + STOP_TIMEOUT_S + 60)
        if code != 0:
            raise WarmupError(f"JIT warm-up round {number}: locust exited with {code}; see {where}")

    async def read() -> tuple[float, dict[str, float]]:
        snapshot = await asyncio.to_thread(take_snapshot, stack_roots(settings.stack_dir))
        return snapshot.at, snapshot.jit

    return await settle(run_round, read, limit_s=limit_s, on_round=on_round)
