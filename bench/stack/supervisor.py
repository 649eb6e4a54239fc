"""A tiny process supervisor: keeps one service process alive, restarting it with backoff.

`python -m bench.stack.supervisor --dir DIR [--stop-timeout S] -- ARGV...` runs ARGV as a
child in its own session (output appended to `DIR/log`), records the child's PID in `DIR/pid`
and restarts it whenever it exits: after 0.5 s, doubling to at most 10 s, back to 0.5 s once a
child stayed up 30 s. `DIR/supervisor.json` holds the supervisor's PID, the child's, the
number of restarts and the last exit (code or signal, when, after how long). SIGTERM or SIGINT
forwards SIGTERM to the child's process group, waits up to `--stop-timeout` (then SIGKILL),
and exits without restarting. The child gets SIGTERM should the supervisor die first
(PR_SET_PDEATHSIG), so it is never left orphaned. `--first-env KEY=VALUE` (repeatable) is set
in the first child's environment only: how the fault matrix arms a fault-injection hook that
must fire once (restarts run without it). Every child runs at the supervisor's own nice value,
its session's autogroup included, so `nice -n 10 python -m bench.stack.supervisor ...` runs its
service (and every restart) at 10.

Standard library only, so it starts fast and shares nothing with what it supervises.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from bench.stack.priority import lower

INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
STABLE_AFTER_S = 30.0
STATE_FILE = "supervisor.json"
PR_SET_PDEATHSIG = 1


@dataclass
class Exit:
    """How a child ended: its exit code, or the signal that killed it."""

    code: int | None
    signal: str | None
    at: float
    """Epoch seconds."""
    uptime_s: float

    def describe(self) -> str:
        how = f"signal {self.signal}" if self.signal else f"code {self.code}"
        return f"{how} after {self.uptime_s:.1f}s"


@dataclass
class State:
    """What `supervisor.json` records (read by `cqrs-bench status`)."""

    supervisor_pid: int
    pid: int | None = None
    started_at: float | None = None
    restarts: int = 0
    last_exit: Exit | None = None
    backoff_s: float = INITIAL_BACKOFF_S
    state: str = "starting"
    argv: list[str] = field(default_factory=list)


def next_backoff(current: float, uptime_s: float) -> tuple[float, float]:
    """(delay before this restart, the delay after it) given the child's uptime."""
    delay = INITIAL_BACKOFF_S if uptime_s >= STABLE_AFTER_S else current
    return delay, min(delay * 2, MAX_BACKOFF_S)


def exit_of(returncode: int, started: float, now: float) -> Exit:
    """An `Exit` from a Popen return code (negative: killed by that signal)."""
    uptime = max(0.0, now - started)
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return Exit(None, name, time.time(), uptime)
    return Exit(returncode, None, time.time(), uptime)


def read_state(root: Path) -> dict[str, Any] | None:
    """The recorded supervisor state of a service directory, if any."""
    try:
        state: dict[str, Any] = json.loads((root / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    """Runs, watches and restarts one child; see the module docstring."""

    def __init__(
        self,
        root: Path,
        argv: list[str],
        stop_timeout: float,
        first_env: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.argv = argv
        self.stop_timeout = stop_timeout
        self.first_env = first_env or {}
        self.state = State(supervisor_pid=os.getpid(), argv=argv)
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def _write(self) -> None:
        tmp = self.root / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(asdict(self.state), indent=2) + "\n")
        tmp.replace(self.root / STATE_FILE)

    def _say(self, message: str) -> None:
        with (self.root / "log").open("a") as log:
            log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} supervisor: {message}\n")

    def _on_signal(self, signum: int, _: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child.pid, signal.SIGTERM)

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, **self.first_env} if self.first_env else None
        if self.first_env:
            self._say(
                f"first child only: {' '.join(f'{k}={v}' for k, v in self.first_env.items())}"
            )
            self.first_env = {}
        with (self.root / "log").open("ab") as log:
            child = subprocess.Popen(
                self.argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # the supervisor runs no threads
            )
        # The child inherits the supervisor's nice but runs in a session (autogroup) of its
        # own, which starts at 0: give the autogroup the same priority (`bench.stack.priority`).
        nice = os.getpriority(os.PRIO_PROCESS, 0)
        if nice:
            lower(child.pid, nice)
        (self.root / "pid").write_text(f"{child.pid}\n")
        return child

    def _stop_child(self, child: subprocess.Popen[bytes]) -> None:
        try:
            child.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self._say(f"pid {child.pid} ignored SIGTERM for {self.stop_timeout}s; SIGKILL")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()

    def run(self) -> int:
        """Supervise until told to stop; returns the exit status for the supervisor."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        backoff = INITIAL_BACKOFF_S
        while not self.stopping:
            started = time.monotonic()
            self.child = child = self._spawn()
            self.state.pid, self.state.started_at, self.state.state = child.pid, time.time(), "up"
            self._write()
            self._say(f"started pid {child.pid}: {' '.join(self.argv)}")
            if self.stopping:  # a signal between spawn and here found no child to forward to
                os.killpg(child.pid, signal.SIGTERM)
            returncode = child.wait()
            if self.stopping:
                self._stop_child(child)
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)  # whatever it left in its group
            ended = exit_of(returncode, started, time.monotonic())
            delay, backoff = next_backoff(backoff, ended.uptime_s)
            self.state.last_exit, self.state.backoff_s = ended, delay
            self.state.state = "backoff"
            self._write()
            self._say(f"pid {child.pid} exited ({ended.describe()}); restarting in {delay:.1f}s")
            deadline = time.monotonic() + delay
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            if not self.stopping:
                self.state.restarts += 1
        self.state.state = "stopped"
        self._write()
        self._say("stopped")
        return 0


def main(args: list[str] | None = None) -> int:
    """Command-line entry point (`python -m bench.stack.supervisor`)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.stack.supervisor",
        description="Run ARGV, restarting it with exponential backoff until SIGTERM.",
    )
    parser.add_argument("--dir", type=Path, required=True, help="the service's stack directory")
    parser.add_argument(
        "--stop-timeout", type=float, default=20.0, help="seconds to wait after SIGTERM"
    )
    parser.add_argument(
        "--first-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set in the first child's environment only (repeatable)",
    )
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="-- then the command to run")
    parsed = parser.parse_args(args)
    argv = parsed.argv[1:] if parsed.argv[:1] == ["--"] else parsed.argv
    if not argv:
        parser.error("give the command to supervise after --")
    first_env = dict(item.partition("=")[::2] for item in parsed.first_env)
    if not all(first_env):
        parser.error("--first-env takes KEY=VALUE")
    parsed.dir.mkdir(parents=True, exist_ok=True)
    return Supervisor(parsed.dir.resolve(), argv, parsed.stop_timeout, first_env).run()


if __name__ == "__main__":
    sys.exit(main())
