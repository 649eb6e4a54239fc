"""The supervisor keeps a process alive: restarts it with backoff after any death, records why,
stops it with itself, and never leaves it orphaned; `down` stops a stack service's supervisor
and the service together. Leaves the stack UP.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.stack.priority import effective_nice
from bench.stack.process import pid_alive
from bench.stack.supervisor import read_state

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "cqrs-bench")


def _wait(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout}s: {condition}")


def _child(root: Path) -> int | None:
    try:
        pid = int((root / "pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Callable[[list[str]], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def run(argv: list[str]) -> subprocess.Popen[bytes]:
        options = ["--dir", str(tmp_path), "--stop-timeout", "2"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.stack.supervisor", *options, "--", *argv],
            start_new_session=True,
        )
        started.append(proc)
        return proc

    yield run
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def test_a_killed_child_is_restarted_and_its_exit_recorded(
    supervise: Callable[[list[str]], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    supervisor = supervise(["sleep", "300"])
    first = _wait(lambda: _child(tmp_path))
    os.kill(first, signal.SIGKILL)
    second = _wait(lambda: (p := _child(tmp_path)) and p != first and p)
    state = _wait(lambda: (s := read_state(tmp_path)) and s["pid"] == second and s)
    assert state["supervisor_pid"] == supervisor.pid
    assert state["restarts"] == 1
    assert state["last_exit"]["signal"] == "SIGKILL"
    assert state["last_exit"]["code"] is None
    assert state["state"] == "up"
    assert "exited (signal SIGKILL" in (tmp_path / "log").read_text()


def test_a_crashing_child_is_restarted_with_growing_delays(
    supervise: Callable[[list[str]], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    supervise([sys.executable, "-c", "import sys; sys.exit(3)"])
    state = _wait(lambda: (s := read_state(tmp_path)) and s["restarts"] >= 2 and s, timeout=15)
    assert state["last_exit"]["code"] == 3
    delays = [
        float(line.rsplit("restarting in ", 1)[1].rstrip("s\n"))
        for line in (tmp_path / "log").read_text().splitlines()
        if "restarting in" in line
    ]
    assert delays[:2] == [0.5, 1.0]


def test_sigterm_stops_the_child_and_the_supervisor_without_a_restart(
    supervise: Callable[[list[str]], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    supervisor = supervise(["sleep", "300"])
    child = _wait(lambda: _child(tmp_path))
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(10) == 0
    _wait(lambda: not pid_alive(child), timeout=5)
    state = read_state(tmp_path)
    assert state is not None
    assert (state["state"], state["restarts"]) == ("stopped", 0)


def test_a_child_never_outlives_a_killed_supervisor(
    supervise: Callable[[list[str]], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    supervisor = supervise(["sleep", "300"])
    child = _wait(lambda: _child(tmp_path))
    supervisor.kill()
    supervisor.wait(10)
    _wait(lambda: not pid_alive(child), timeout=5)


def _status(*names: str) -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [CLI, "status", "--json", *names], capture_output=True, text=True, timeout=120
    )
    return {r["name"]: r for r in json.loads(done.stdout)}


def test_down_stops_the_supervisor_and_the_service_and_up_supervises_again() -> None:
    subprocess.run([CLI, "up", "relay"], check=True, capture_output=True, timeout=300)
    before = _status("relay")["relay"]
    assert before["healthy"] is True
    assert isinstance(before["supervisor_pid"], int)
    assert before["pid"] != before["supervisor_pid"]
    try:
        subprocess.run([CLI, "down", "relay"], check=True, capture_output=True, timeout=120)
        assert not pid_alive(before["pid"]), "the relay outlived `down`"
        assert not pid_alive(before["supervisor_pid"]), "its supervisor outlived `down`"
        after = _status("relay")["relay"]
        assert (after["pid"], after["supervisor_pid"], after["restarts"]) == (None, None, None)
    finally:
        subprocess.run([CLI, "up", "relay"], check=True, capture_output=True, timeout=300)
    again = _status("relay")["relay"]
    assert again["healthy"] is True
    assert again["restarts"] == 0
    assert again["supervisor_pid"] not in (None, before["supervisor_pid"])


def test_children_and_their_restarts_run_at_the_supervisors_nice(tmp_path: Path) -> None:
    # Without the supervisor's own `lower`, the child would inherit nice 7 for its threads but
    # start a new session whose autogroup runs at 0, which is what the scheduler weighs.
    options = ["--dir", str(tmp_path), "--stop-timeout", "2", "--", "sleep", "300"]
    supervisor = subprocess.Popen(
        ["nice", "-n", "7", sys.executable, "-m", "bench.stack.supervisor", *options],
        start_new_session=True,
    )
    try:
        first = _wait(lambda: _child(tmp_path))
        assert _wait(lambda: effective_nice(first) == 7)
        assert os.getsid(first) != os.getsid(supervisor.pid)
        os.kill(first, signal.SIGKILL)
        second = _wait(lambda: (p := _child(tmp_path)) and p != first and p)
        assert _wait(lambda: effective_nice(second) == 7)
    finally:
        supervisor.terminate()
        supervisor.wait(10)
