"""Carry out one fault on the native stack, with the stack's own functions.

`kill`: SIGKILL to the service process (the whole process group for Kafka and Elasticsearch,
whose JVM is a child; the postmaster alone for PostgreSQL, so its own crash recovery runs);
api, relay and projector are brought back by their supervisor, the others here with the
stack's start (`bring_up`). `pause=S`: SIGSTOP, S seconds, SIGCONT. `restart`: the stack's
clean stop and start of that service alone (`cqrs-bench restart`). The faults of one service
each live in their own modules: `relay_hook.py` (crash-after-ack), `hold_tx.py`,
`kafka_retention.py` (outlive-retention).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

from bench.faults.hold_tx import hold_tx
from bench.faults.kafka_retention import outlive_retention
from bench.faults.plan import SUPERVISED, Fault
from bench.faults.relay_hook import crash_after_ack
from bench.stack.lifecycle import bring_up, load_services, restart_services, service_status
from bench.stack.registry import SERVICES
from system.config import Settings

GONE_TIMEOUT_S = 30.0
GROUP_SIGNALLED = ("kafka", "elasticsearch")
"""Services whose process group is signalled (their JVM runs as a child of the recorded PID)."""


class FaultError(RuntimeError):
    """The fault could not be carried out (e.g. the service is not running natively)."""


async def service_pid(settings: Settings, name: str) -> int:
    """The PID `cqrs-bench status` shows for `name` (FaultError if none)."""
    load_services()
    row = await service_status(SERVICES[name], settings)
    if row.pid is None:
        raise FaultError(f"{name} has no native process to signal (not started by `up`?)")
    return row.pid


def _signal(name: str, pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        if name in GROUP_SIGNALLED:
            os.killpg(os.getpgid(pid), sig)
        else:
            os.kill(pid, sig)


async def inject(fault: Fault, settings: Settings) -> None:
    """Do `fault` and return once its action is over (the pause ended, the restart returned,
    a killed backing service was started again); recovery is measured apart."""
    load_services()
    if fault.action == "restart":
        await restart_services(settings, [fault.service])
        return
    if fault.action == "crash-after-ack":
        await crash_after_ack(settings)
        return
    if fault.action == "hold-tx":
        await hold_tx(settings, fault.length_s)
        return
    if fault.action == "outlive-retention":
        await outlive_retention(settings)
        return
    pid = await service_pid(settings, fault.service)
    if fault.action == "pause":
        _signal(fault.service, pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(fault.length_s)
        finally:
            _signal(fault.service, pid, signal.SIGCONT)
        return
    _signal(fault.service, pid, signal.SIGKILL)
    if fault.service in SUPERVISED:
        return
    await _gone(pid)
    await bring_up(settings, [fault.service])


async def _gone(pid: int, timeout_s: float = GONE_TIMEOUT_S) -> None:
    """Wait until `pid` has left the process table, zombie included: PostgreSQL's own lock
    check (`kill(pid, 0)`) takes a dead but unreaped postmaster for a live one."""
    deadline = time.monotonic() + timeout_s
    while _listed(pid):
        if time.monotonic() > deadline:
            raise FaultError(
                f"pid {pid} was still in the process table {timeout_s:g}s after SIGKILL"
            )
        await asyncio.sleep(0.05)


def _listed(pid: int) -> bool:
    """True while `kill(pid, 0)` finds the process, as PostgreSQL's lock check does (our own
    child is reaped first: a restart in this process started it)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
