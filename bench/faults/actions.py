"""Carry out one fault on the native stack, with the stack's own functions.

`kill`: SIGKILL to the service process (the whole process group for Kafka and Elasticsearch,
whose JVM is a child; the postmaster alone for PostgreSQL, so its own crash recovery runs);
api, relay and projector are brought back by their supervisor, the others here with the
stack's start (`bring_up`). `pause=S`: SIGSTOP, S seconds, SIGCONT. `restart`: the stack's
clean stop and start of that service alone (`cqrs-bench restart`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from bench.faults.plan import SUPERVISED, Fault
from bench.stack.commands import bring_up, load_services, restart_services, service_status
from bench.stack.process import pid_alive
from bench.stack.registry import SERVICES
from system.config import Settings

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
    pid = await service_pid(settings, fault.service)
    if fault.action == "pause":
        _signal(fault.service, pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(fault.pause_s)
        finally:
            _signal(fault.service, pid, signal.SIGCONT)
        return
    _signal(fault.service, pid, signal.SIGKILL)
    if fault.service in SUPERVISED:
        return
    for _ in range(100):
        if not pid_alive(pid):
            break
        await asyncio.sleep(0.05)
    await bring_up(settings, [fault.service])
