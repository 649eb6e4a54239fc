"""The CPU probe: its summary, its speed-change note, real sampling, and a sampler that dies
with its parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.report.cpu_probe import (
    FILE,
    LOOP_ITERATIONS,
    CpuProbe,
    CpuProbeSummary,
    changed,
    describe,
    summarize,
)
from bench.report.environment import Environment
from bench.report.environment_table import environment_table

ROOT = Path(__file__).resolve().parents[2]


def probe_summary(before: float, after: float) -> CpuProbeSummary:
    return CpuProbeSummary(
        loop_iterations=LOOP_ITERATIONS,
        idle_before_ms=before,
        idle_after_ms=after,
        during_ms=None,
        samples=0,
        file=FILE,
    )


def gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie not yet reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.1)
    return gone(pid)


def test_the_summary_holds_the_idle_medians_and_the_spread_of_the_samples(tmp_path: Path) -> None:
    path = tmp_path / FILE
    lines = [json.dumps({"t": 1000.0 + 2 * i, "ms": ms}) for i, ms in enumerate([12, 9.5, 19, 11])]
    path.write_text("\n".join(lines) + '\n{"t": 1008.0, "m')  # a torn last line is skipped
    summary = summarize(path, [10, 11, 9, 30, 10.5], [8.0, 9.0, 8.5])
    assert summary == {
        "loop_iterations": 100_000,
        "idle_before_ms": 10.5,
        "idle_after_ms": 8.5,
        "during_ms": {"median": 11.5, "min": 9.5, "max": 19.0},
        "samples": 4,
        "file": "cpu-probe.jsonl",
    }
    assert describe(summary) == (
        "CPU probe (100,000-iteration loop): idle 10.5 ms before → 8.5 ms after;"
        " during the run median 11.5 ms (9.5 to 19.0), 4 samples"
    )


def test_no_sample_gives_a_null_spread(tmp_path: Path) -> None:
    summary = summarize(tmp_path / FILE, [10.0], [10.0])
    assert summary["during_ms"] is None and summary["samples"] == 0
    assert describe(summary).endswith("; no sample during the run")


def test_a_speed_change_above_the_threshold_is_noted_either_way() -> None:
    assert changed(probe_summary(9.1, 17.8)) == (
        "the machine's speed changed during the run: idle loop 9.1 ms before, 17.8 ms after"
        " (1.96x); figures of this run mix two speeds"
    )
    faster = changed(probe_summary(14.0, 10.0))
    assert faster is not None and "(1.40x)" in faster
    assert changed(probe_summary(10.0, 12.9)) is None
    assert changed(probe_summary(13.0, 10.0)) is None  # exactly 1.3x is not above it


def test_a_real_probe_samples_while_running_and_its_sampler_ends_on_stop(tmp_path: Path) -> None:
    probe = CpuProbe()
    probe.start(tmp_path)
    pid = probe.sampler_pid
    assert pid is not None and not gone(pid)
    time.sleep(2.5)
    summary = probe.stop()
    assert wait_gone(pid, 5)
    assert probe.stop() is summary
    env: Environment = {
        "cpu": "x",
        "cores": 1,
        "memory": 1,
        "os": "x",
        "python": "3",
        "git_revision": None,
        "git_dirty": None,
        "services": {},
        "cpu_probe": summary,
    }
    assert summary["samples"] >= 1
    assert summary["during_ms"] is not None and summary["during_ms"]["min"] > 0
    assert summary["idle_before_ms"] > 0 and summary["idle_after_ms"] > 0
    rows = [json.loads(line) for line in (tmp_path / FILE).read_text().splitlines()]
    assert len(rows) == summary["samples"]
    assert all(r["ms"] > 0 and abs(r["t"] - time.time()) < 60 for r in rows)
    assert environment_table(env).notes == [describe(summary)]


PARENT = """
import sys, time
from pathlib import Path
from bench.report.cpu_probe import CpuProbe
probe = CpuProbe()
probe.start(Path(sys.argv[1]))
print(probe.sampler_pid, flush=True)
time.sleep(120)
"""


def test_the_sampler_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    command = [sys.executable, "-c", PARENT, str(tmp_path)]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        sampler = int(parent.stdout.readline())
        try:
            assert not gone(sampler)
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait(10)
            assert wait_gone(sampler, 5), f"sampler {sampler} outlived its parent"
        finally:
            parent.kill()
            if not gone(sampler):
                os.kill(sampler, signal.SIGKILL)
