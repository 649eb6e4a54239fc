"""The machine's speed: a fixed pure-Python loop, timed in a process of its own.

This shared VM changes speed by up to 2x within minutes, so every run times the loop while
idle before and after its work, and every `SAMPLE_EVERY_S` during it (`cpu-probe.jsonl`): a
reader can then tell a slow machine from a slow system. The loop runs in a separate process so
that it never waits on the harness's GIL. The sampler ends when its parent closes its stdin or
dies (`python -m bench.report.cpu_probe sample FILE`).
"""

from __future__ import annotations

import json
import os
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

LOOP_ITERATIONS = 100_000
"""Iterations of the timed loop (9-20 ms on this VM)."""
IDLE_SAMPLES = 9
SAMPLE_EVERY_S = 2.0
SPEED_CHANGE = 1.3
"""An idle loop this many times slower (or faster) after the run than before is noted."""
FILE = "cpu-probe.jsonl"
_STOP_TIMEOUT_S = 10.0


class Spread(TypedDict):
    median: float
    min: float
    max: float


class CpuProbeSummary(TypedDict):
    """The loop's ms while idle before and after a run, and during it.

    The samples taken during the run include the run's own load: they show the machine as the
    run used it, not its idle speed.
    """

    loop_iterations: int
    idle_before_ms: float
    idle_after_ms: float
    during_ms: Spread | None
    samples: int
    file: str


def loop_ms(iterations: int = LOOP_ITERATIONS) -> float:
    """Milliseconds this process takes for the fixed loop."""
    start = time.perf_counter()
    total = 0
    for i in range(iterations):
        total += i
    return (time.perf_counter() - start) * 1e3


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.report.cpu_probe", *args]


def idle_speed(samples: int = IDLE_SAMPLES) -> list[float]:
    """The loop's ms, `samples` times back to back in a fresh process."""
    out = subprocess.run(
        _command("idle", str(samples)), capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return [float(ms) for ms in json.loads(out)]


def read_samples(path: Path) -> list[float]:
    """The loop ms of each sample in a cpu-probe.jsonl (a torn last line is skipped)."""
    if not path.is_file():
        return []
    found = []
    for line in path.read_text().splitlines():
        try:
            found.append(float(json.loads(line)["ms"]))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def summarize(path: Path, idle_before: list[float], idle_after: list[float]) -> CpuProbeSummary:
    """The summary of the idle probes' medians and the samples in `path`."""
    during = read_samples(path)
    return CpuProbeSummary(
        loop_iterations=LOOP_ITERATIONS,
        idle_before_ms=statistics.median(idle_before),
        idle_after_ms=statistics.median(idle_after),
        during_ms=(
            Spread(median=statistics.median(during), min=min(during), max=max(during))
            if during
            else None
        ),
        samples=len(during),
        file=path.name,
    )


class CpuProbe:
    """Idle loop before, samples every 2 s during, idle loop after: `start`, then `stop`."""

    def __init__(self) -> None:
        self._path: Path | None = None
        self._before: list[float] = []
        self._sampler: subprocess.Popen[bytes] | None = None
        self._summary: CpuProbeSummary | None = None

    @property
    def sampler_pid(self) -> int | None:
        return None if self._sampler is None else self._sampler.pid

    def start(self, directory: Path) -> None:
        """Time the idle loop, then sample into `directory / FILE` (emptied first)."""
        directory.mkdir(parents=True, exist_ok=True)
        self._path = directory / FILE
        self._path.write_text("")
        self._before = idle_speed()
        self._sampler = subprocess.Popen(
            _command("sample", str(self._path), str(SAMPLE_EVERY_S)), stdin=subprocess.PIPE
        )

    def close(self) -> None:
        """End the sampler if it runs (no summary; for a run that failed)."""
        sampler, self._sampler = self._sampler, None
        if sampler is None:
            return
        assert sampler.stdin is not None
        sampler.stdin.close()
        try:
            sampler.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            sampler.kill()
            sampler.wait()

    def stop(self) -> CpuProbeSummary:
        """End the sampler, time the idle loop again and summarize; later calls return the same."""
        if self._summary is None:
            if self._path is None:
                raise RuntimeError("CpuProbe.stop() before start()")
            self.close()
            self._summary = summarize(self._path, self._before, idle_speed())
        return self._summary


def changed(summary: CpuProbeSummary) -> str | None:
    """A note when the idle loop differs by more than SPEED_CHANGE before and after the run."""
    before, after = summary["idle_before_ms"], summary["idle_after_ms"]
    factor = max(before, after) / min(before, after)
    if factor <= SPEED_CHANGE:
        return None
    return (
        f"the machine's speed changed during the run: idle loop {before:.1f} ms before,"
        f" {after:.1f} ms after ({factor:.2f}x); figures of this run mix two speeds"
    )


def describe(summary: Mapping[str, Any]) -> str:
    """One line for a report: the idle loop before and after, and the samples during the run."""
    line = (
        f"CPU probe ({summary['loop_iterations']:,}-iteration loop): idle"
        f" {summary['idle_before_ms']:.1f} ms before → {summary['idle_after_ms']:.1f} ms after; "
    )
    during = summary.get("during_ms")
    if not during:
        return line + "no sample during the run"
    return line + (
        f"during the run median {during['median']:.1f} ms ({during['min']:.1f} to "
        f"{during['max']:.1f}), {summary['samples']} samples"
    )


def _sample(path: Path, every_s: float) -> None:
    """Append a sample to `path` every `every_s` until stdin ends or the parent changes."""
    parent = os.getppid()
    with path.open("a") as out:
        while os.getppid() == parent:
            out.write(json.dumps({"t": round(time.time(), 3), "ms": round(loop_ms(), 3)}) + "\n")
            out.flush()
            ready, _, _ = select.select([sys.stdin], [], [], every_s)
            if ready and not os.read(sys.stdin.fileno(), 4096):
                return


def main(argv: list[str]) -> None:
    """`idle N`: print N loop ms as JSON; `sample FILE EVERY_S`: the sampler."""
    if argv[:1] == ["idle"] and len(argv) == 2:
        print(json.dumps([round(loop_ms(), 3) for _ in range(int(argv[1]))]))
    elif argv[:1] == ["sample"] and len(argv) == 3:
        _sample(Path(argv[1]), float(argv[2]))
    else:
        raise SystemExit("usage: python -m bench.report.cpu_probe idle N | sample FILE EVERY_S")


if __name__ == "__main__":
    main(sys.argv[1:])
