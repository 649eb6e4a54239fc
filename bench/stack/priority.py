"""CPU priority of the stack's services: the api and PostgreSQL first, the rest behind them.

On a machine with fewer cores than services, every service competes for the same CPU, and the
scheduler shares it evenly between runnable threads. A request then waits for the CPU behind
Elasticsearch's merges, Kafka's log flushes and the projectors' folds, none of which a client
waits on. `cqrs-bench up` therefore starts Elasticsearch, Kafka, the relay, the projectors,
Prometheus and the Pushgateway (services with `background=True` in `bench.stack.registry`) at
nice `CQRS_BACKGROUND_NICE` (default 10; 0 restores an even share), and the api and PostgreSQL
at 0. The read side still gets every cycle the write path leaves idle; it gets fewer only while
the write path wants them, and then its lag grows (README, trade-off "CPU priority").

Two levers, because one does nothing on its own. Linux nice is per thread, and with
autogroups on (`/proc/sys/kernel/sched_autogroup_enabled`, the default on desktop and most
server kernels) the scheduler first shares the CPU between sessions' autogroups, by each
autogroup's own nice, and only then between threads within one. Every service runs in its own
session, so `lower` sets both: every thread of the process group, and the autogroup.

Measured with `cqrs-bench load --scenario orders --duration 40 --warmup 5 --no-ceilings` on one
warm stack (AMD EPYC, 2 cores), settings alternated by writing `/proc/PID/autogroup`; corrected
request p99: at 200 req/s, all at nice 0: 7,442 ms (an invalid run, 364 conflicts); the read
side at 10: 53.3 ms (1 conflict). At 225 req/s, read side at 10: 86.3 ms; at 4: 14.8 s. At
50 req/s the price is read-side lag: end-to-end p99 109 and 187 ms at 10, 94 and 162 ms at 0.

Standard library only: the supervisor (`bench.stack.supervisor`) imports it.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

NICE_VARIABLE = "CQRS_BACKGROUND_NICE"
DEFAULT_NICE = 10
AUTOGROUPS = Path("/proc/sys/kernel/sched_autogroup_enabled")
_AUTOGROUP_NICE = re.compile(r"\bnice\s+(-?\d+)")


def background_nice() -> int:
    """The nice value for background services, from `CQRS_BACKGROUND_NICE` (0-19)."""
    raw = os.environ.get(NICE_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_NICE
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 19:
        raise ValueError(
            f"{NICE_VARIABLE}={raw!r}: give a whole number from 0 (an even CPU share with the "
            f"api) to 19 (the lowest priority); the default is {DEFAULT_NICE}"
        )
    return value


def _threads(pgid: int) -> list[int]:
    """Every thread of every process in process group `pgid`."""
    found: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[-1].split()[3]) == pgid:
                found.extend(int(task.name) for task in (stat.parent / "task").iterdir())
    return found


def lower(pid: int, nice: int) -> None:
    """Run `pid`'s process group (every thread) and its session's autogroup at `nice`.

    A process that is gone is skipped; so is an autogroup this kernel does not expose.
    """
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    for tid in _threads(pgid) or [pid]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(f"{nice}\n")


def _autogroup_nice(pid: int) -> int | None:
    """The nice of `pid`'s autogroup, or None where autogroups are off or not shown.

    Some kernels and sandboxes report autogroups as enabled and still show an empty
    `/proc/PID/autogroup` (the CI machine did): the process's own nice then stands.
    """
    with contextlib.suppress(OSError):
        if AUTOGROUPS.read_text().strip() != "1":
            return None
        found = _AUTOGROUP_NICE.search(Path(f"/proc/{pid}/autogroup").read_text())
        return int(found.group(1)) if found else None
    return None


def effective_nice(pid: int) -> int | None:
    """The nice value the scheduler weighs `pid` by against other services: its autogroup's
    when the kernel shows one, else its own; None if it is gone."""
    try:
        own = os.getpriority(os.PRIO_PROCESS, pid)
    except (ProcessLookupError, PermissionError):
        return None
    group = _autogroup_nice(pid)
    return own if group is None else group
