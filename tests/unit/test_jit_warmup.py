"""The JIT warm-up's loop: rounds until every JVM compiled for at most its share, or its limit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bench.load.jit import WARMING_SHARE
from bench.load.jit_warmup import ROUND_S, JitWarmup, WarmupRound, compiled, settle
from bench.report.reference_runs import Reference


class Machine:
    """A made-up stack: each round lasts `seconds` and its JVMs compile the next scripted amounts;
    `readable` are the JVMs whose counters can be read from the start (another: from the round
    that first names it)."""

    def __init__(
        self,
        compiles: list[dict[str, float]],
        seconds: float = 20.0,
        readable: tuple[str, ...] = ("elasticsearch", "kafka"),
    ) -> None:
        self.now = 1_000.0
        self.total: dict[str, float] = dict.fromkeys(readable, 100.0)
        self.script: Iterator[dict[str, float]] = iter(compiles)
        self.seconds = seconds
        self.asked: list[tuple[int, float]] = []

    async def run_round(self, number: int, seconds: float) -> None:
        self.asked.append((number, seconds))
        self.now += self.seconds
        for name, seconds_ in next(self.script).items():
            self.total[name] = self.total.get(name, 0.0) + seconds_

    async def read(self) -> tuple[float, dict[str, float]]:
        return self.now, dict(self.total)


def warm(machine: Machine, limit_s: float) -> JitWarmup:
    return asyncio.run(settle(machine.run_round, machine.read, limit_s=limit_s))


def test_rounds_go_on_until_every_jvm_compiled_for_at_most_its_share() -> None:
    machine = Machine(
        [
            {"elasticsearch": 10.0, "kafka": 0.5},  # 0.67 of a round's 15 s of load
            {"elasticsearch": 4.0, "kafka": 0.5},  # 0.27
            {"elasticsearch": 1.0, "kafka": 3.0},  # kafka 0.20: not yet
            {"elasticsearch": 1.2, "kafka": 0.15},  # 0.08, 0.01: settled
            {"elasticsearch": 0.0, "kafka": 0.0},  # never reached
        ]
    )
    warmup = warm(machine, limit_s=600)
    elasticsearch = [r.jit_seconds["elasticsearch"] for r in warmup.rounds]
    assert elasticsearch == pytest.approx([10.0, 4.0, 1.0, 1.2])
    assert warmup.settled and warmup.seconds == 80.0 and warmup.load_s == 4 * ROUND_S
    assert machine.asked == [(1, ROUND_S), (2, ROUND_S), (3, ROUND_S), (4, ROUND_S)]
    assert warmup.rounds[-1].shares() == pytest.approx({"elasticsearch": 0.08, "kafka": 0.01})
    assert "until the JVMs compiled for at most 0.10 of a round's load time" in warmup.note()
    assert warmup.note().startswith("JIT warm-up: 4 round(s), 60 s of the run's load (80 s in all)")


def test_the_limit_ends_an_unsettled_warm_up_and_cuts_its_last_round() -> None:
    machine = Machine([{"elasticsearch": 9.0}] * 10, seconds=20.0)
    warmup = warm(machine, limit_s=50)
    assert len(warmup.rounds) == 3 and not warmup.settled  # 20 + 20 + 20 >= 50
    assert machine.asked[-1] == (3, 10.0)  # 50 - 40 s left
    note = warmup.note()
    assert "the 50 s limit came first" in note and "elasticsearch 0.90" in note  # 9 s of 10
    assert warmup.to_dict()["settled"] is False


def test_no_round_shorter_than_half_a_round_follows_the_first() -> None:
    # A 5 s round compiles little and would pass for settled: 45 - 40 s left is not run.
    machine = Machine([{"elasticsearch": 9.0}] * 10, seconds=20.0)
    assert len(warm(machine, limit_s=45).rounds) == 2
    first = Machine([{"elasticsearch": 0.1}], seconds=8.0)
    assert warm(first, limit_s=5).rounds[0].load_s == 5  # the first runs, cut to the limit


def test_a_jvm_unreadable_at_either_end_of_a_round_is_left_out_of_it() -> None:
    machine = Machine([{"elasticsearch": 1.0, "kafka": 30.0}], readable=("elasticsearch",))
    first = warm(machine, limit_s=600).rounds[0]
    assert first.jit_seconds == {"elasticsearch": 1.0}  # kafka could not be read before it
    assert first.settled(WARMING_SHARE)


def test_a_stack_without_readable_jvms_settles_at_once_and_says_so() -> None:
    warmup = warm(Machine([{}, {}], readable=()), limit_s=600)
    assert len(warmup.rounds) == 1 and not warmup.settled  # nothing measured, nothing settled
    assert warmup.note().endswith("no JVM's compile counters were readable")


def test_a_round_settles_only_at_or_below_the_share() -> None:
    at = WarmupRound(20.0, 26.0, {"elasticsearch": 2.0})  # of the load time, not the wall's
    above = WarmupRound(20.0, 26.0, {"elasticsearch": 2.01})
    assert at.settled(0.1) and not above.settled(0.1)
    assert JitWarmup(60.0).to_dict() == {
        "limit_s": 60.0,
        "share": WARMING_SHARE,
        "settled": False,
        "seconds": 0,
        "load_seconds": 0,
        "rounds": [],
    }


def test_a_jvm_restarted_within_a_round_counts_its_compilations_from_zero() -> None:
    assert compiled(
        {"elasticsearch": 50.0, "kafka": 2.0}, {"elasticsearch": 3.0, "kafka": 2.5}
    ) == {
        "elasticsearch": 3.0,
        "kafka": 0.5,
    }


def test_a_reference_load_run_names_its_warm_up_in_its_command() -> None:
    config = {"scenario": "orders", "rate": 50, "duration_s": 60.0, "warmup_s": 5.0}
    warmed = {**config, "jit_warmup": JitWarmup(300.0).to_dict()}
    assert Reference("l", {"config": warmed, "load": []}).command.endswith(
        "--duration 60 --warmup 5 --jit-warmup 5m"
    )
    assert Reference("l", {"config": config, "load": []}).command.endswith("--warmup 5")
