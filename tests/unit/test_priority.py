"""`bench.stack.priority`: the setting, and `lower` on real child processes (no services)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.report.environment_table import nice_text
from bench.stack import priority
from bench.stack.priority import NICE_VARIABLE, background_nice, effective_nice, lower

# A session leader with a second thread that exists before `lower` runs.
THREADED = "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); " + (
    "time.sleep(60)"
)


def _threads(pid: int) -> list[int]:
    return [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]


@pytest.fixture
def session() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", THREADED], start_new_session=True, text=True)
    deadline = time.monotonic() + 10
    while len(_threads(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.parametrize(("raw", "expected"), [("", 10), ("0", 0), ("19", 19), (" 4 ", 4)])
def test_the_setting_defaults_to_10_and_takes_0_to_19(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: int
) -> None:
    monkeypatch.setenv(NICE_VARIABLE, raw)
    assert background_nice() == expected


@pytest.mark.parametrize("raw", ["20", "-1", "ten", "1.5"])
def test_a_bad_setting_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(NICE_VARIABLE, raw)
    with pytest.raises(ValueError, match=f"{NICE_VARIABLE}='{raw}'.*0.*19"):
        background_nice()


def test_lower_sets_every_thread_and_the_effective_priority(
    session: subprocess.Popen[str],
) -> None:
    lower(session.pid, 6)
    assert [os.getpriority(os.PRIO_PROCESS, t) for t in _threads(session.pid)] == [6, 6]
    assert effective_nice(session.pid) == 6


def test_lower_leaves_its_caller_alone(session: subprocess.Popen[str]) -> None:
    lower(session.pid, 5)
    assert os.getpriority(os.PRIO_PROCESS, 0) == 0
    assert effective_nice(os.getpid()) == 0


def test_a_process_that_is_gone_is_skipped() -> None:
    proc = subprocess.Popen(["true"])
    proc.wait()
    lower(proc.pid, 5)
    assert effective_nice(proc.pid) is None


def test_an_autogroup_the_kernel_does_not_show_leaves_the_process_nice(
    session: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The CI machine reported autogroups on and an empty /proc/PID/autogroup.
    enabled = tmp_path / "enabled"
    enabled.write_text("1\n")
    monkeypatch.setattr(priority, "AUTOGROUPS", enabled)
    real = Path.read_text
    monkeypatch.setattr(
        Path, "read_text", lambda p, *a, **k: "" if p.name == "autogroup" else real(p, *a, **k)
    )
    lower(session.pid, 3)
    assert effective_nice(session.pid) == 3


def test_nice_text_groups_services_by_priority() -> None:
    nice = {"api": 0, "elasticsearch": 10, "postgres": 0, "kafka": 10}
    assert nice_text(nice) == "nice 0: api, postgres; nice 10: elasticsearch, kafka"
