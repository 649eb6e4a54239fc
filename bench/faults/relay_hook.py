"""`relay:crash-after-ack`: the relay dies between Kafka's ack of a batch and its outbox mark.

The relay is stopped cleanly and started again under a new supervisor with its fault-injection
hook armed for the first process only (`CQRS_RELAY_CRASH_AFTER_ACK=1`, see
`system/bus/fault_injection.py`): once Kafka acked its first batch, it exits abruptly without
marking it. The action is over when the supervisor has recorded that exit; the supervisor then
starts the relay again, unarmed, which publishes the unmarked batch a second time.
"""

from __future__ import annotations

import asyncio
import time

from bench.stack.lifecycle import load_services, stop_service
from bench.stack.registry import SERVICES, service_paths
from bench.stack.supervisor import read_state
from bench.stack.system_services import start_relay_armed
from system.bus.fault_injection import CRASH_EXIT_CODE
from system.config import RELAY_CRASH_AFTER_ACK, Settings

HOOK_TIMEOUT_S = 60.0
"""The armed relay must have published a batch by then (it needs traffic)."""


class HookDidNotFire(RuntimeError):
    """The armed relay did not exit through its hook in time."""


async def crash_after_ack(settings: Settings) -> int:
    """Restart the relay with its crash-after-ack hook armed and wait for the crash; returns
    the new supervisor's PID."""
    load_services()
    await asyncio.to_thread(stop_service, SERVICES["relay"], settings)
    supervisor = await start_relay_armed(settings, {RELAY_CRASH_AFTER_ACK: "1"})
    root = service_paths(settings, "relay").root
    deadline = time.monotonic() + HOOK_TIMEOUT_S
    while True:
        state = read_state(root) or {}
        last_exit = state.get("last_exit") or {}
        if state.get("supervisor_pid") == supervisor and last_exit.get("code") == CRASH_EXIT_CODE:
            return supervisor
        if time.monotonic() > deadline:
            raise HookDidNotFire(
                f"the relay's crash-after-ack hook did not fire within {HOOK_TIMEOUT_S:g}s"
                f" (no batch to publish?); last exit recorded: {last_exit or 'none'}"
            )
        await asyncio.sleep(0.1)
