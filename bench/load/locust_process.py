"""Starts locust (local, or a master plus workers) as subprocesses: gevent never meets asyncio."""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.load.config import LoadConfig
from bench.load.options import to_args

LOCUSTFILE = Path(__file__).resolve().parent.parent / "scenarios" / "locustfile.py"
STOP_TIMEOUT_S = 30
"""Seconds in-flight requests get to finish when the run time is up."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port` now."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the exporter binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def run_time_s(config: LoadConfig) -> int:
    """Locust's -t: lead time, warm-up and the measured duration."""
    return math.ceil(config.lead_s + config.warmup_s + config.duration_s + 0.5)


def commands(config: LoadConfig, host: str, out: Path, html: bool = True) -> list[list[str]]:
    """The locust command lines: [local] or [master, worker 0, worker 1, ...]; `html`: write
    locust's own report (about 1 MB) too.

    The run's settings are locust custom arguments (`bench/load/options.py`): the master hands
    them to its workers in locust's spawn messages, so workers get none of their own.
    """
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", host]
    users = str(config.concurrency)
    lead = [
        *base,
        "--headless",
        "-u", users,
        "-r", users,
        "-t", f"{run_time_s(config)}s",
        "--stop-timeout", str(STOP_TIMEOUT_S),
        "--csv", str(out / "locust"),
        *(["--html", str(out / "locust.html")] if html else []),
        "--only-summary",
        "--exit-code-on-error", "0",
        "--loglevel", "WARNING",
        "--logfile", str(out / "locust.log"),
        *to_args(config),
    ]  # fmt: skip
    if not config.workers:
        return [lead]
    port = str(free_port())
    master = [
        *lead,
        "--master",
        "--expect-workers", str(config.workers),
        "--master-bind-host", "127.0.0.1",
        "--master-bind-port", port,
    ]  # fmt: skip
    workers = [_worker(base, port, out / f"locust-worker-{i}.log") for i in range(config.workers)]
    return [master, *workers]


def _worker(base: list[str], port: str, log: Path) -> list[str]:
    return [
        *base,
        "--worker",
        "--master-host", "127.0.0.1",
        "--master-port", port,
        "--loglevel", "WARNING",
        "--logfile", str(log),
    ]  # fmt: skip


@dataclass
class LocustProcesses:
    """The running locust processes; the first is the local runner or the master."""

    procs: list[asyncio.subprocess.Process] = field(default_factory=list)

    @classmethod
    async def start(
        cls, config: LoadConfig, host: str, out: Path, env: dict[str, str], html: bool = True
    ) -> LocustProcesses:
        running = cls()
        for i, argv in enumerate(commands(config, host, out, html)):
            log = (out / f"locust-stdout-{i}.log").open("ab")
            proc = await asyncio.create_subprocess_exec(
                *argv, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
            )
            log.close()
            running.procs.append(proc)
        return running

    async def wait(self, timeout_s: float) -> int:
        """The lead process's exit code; workers are stopped once it is gone."""
        try:
            code = await asyncio.wait_for(self.procs[0].wait(), timeout=timeout_s)
        finally:
            await self.stop()
        return code

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in self.procs:
            if proc.returncode is None:
                try:
                    await asyncio.wait_for(proc.wait(), timeout=10)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
