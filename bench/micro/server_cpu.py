"""CPU time spent by PostgreSQL's processes, when they run on this machine.

A round's wall time on a CPU-bound machine follows the CPU that every party spends, so the
append breakdown (`bench.micro.append_cost`) reports PostgreSQL's CPU beside the client's. The
server names its own processes (`pg_stat_activity` lists backends and background processes
alike); their on-CPU time comes from the kernel's scheduler statistics (`/proc/PID/schedstat`,
nanoseconds, every thread), far finer than the 10 ms ticks of `/proc/PID/stat`. A server on
another machine (or in another PID namespace) has no processes here: then nothing is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import asyncpg

PROC = Path("/proc")


async def server_pids(dsn: str) -> list[int]:
    """PIDs of every process of the server at `dsn` that runs on this machine."""
    conn = await asyncpg.connect(dsn)
    try:
        pids = [row[0] for row in await conn.fetch("SELECT pid FROM pg_stat_activity")]
    finally:
        await conn.close()
    return [pid for pid in pids if _command(pid) == "postgres"]


def _command(pid: int) -> str | None:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return None


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """On-CPU seconds of each live process of `pids` so far, all its threads summed."""
    found: dict[int, float] = {}
    for pid in pids:
        try:
            tasks = list((PROC / str(pid) / "task").iterdir())
            found[pid] = sum(int((t / "schedstat").read_text().split()[0]) for t in tasks) / 1e9
        except (OSError, ValueError, IndexError):
            continue  # exited, or no scheduler statistics here
    return found


def spent(before: Mapping[int, float], after: Mapping[int, float]) -> float:
    """CPU seconds spent between two `cpu_seconds` readings by the processes seen in both."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())
