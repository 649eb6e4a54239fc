"""SIGKILL the api, the relay or the projector from outside while commands flow through the api:
its supervisor brings it back, healthy, within 15 s without anyone calling `up`, and the audit
of everything written since passes. The killed process's PID comes from `cqrs-bench status`.
"""

from __future__ import annotations

import os
import signal

import pytest

from system.config import Settings
from tests.e2e.outage_support import Traffic, audit_since, head, statuses, wait_replaced

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("service", ["api", "relay", "projector"])
async def test_a_killed_process_comes_back_by_itself_and_nothing_is_lost(
    stack: Settings, service: str
) -> None:
    before = (await statuses(stack))[service]
    assert before.pid is not None and before.supervisor_pid is not None, before
    since = await head(stack)
    async with Traffic(stack) as traffic:
        await traffic.until_ok(20)
        os.kill(before.pid, signal.SIGKILL)
        recovered_s = await wait_replaced(stack, service, before.pid)
        await traffic.until_ok(20)
    after = (await statuses(stack))[service]
    print(f"{service}: back in {recovered_s:.1f}s; answers {dict(traffic.statuses)}")
    assert after.supervisor_pid == before.supervisor_pid
    assert after.restarts == (before.restarts or 0) + 1
    assert after.last_exit is not None and after.last_exit["signal"] == "SIGKILL"
    assert traffic.statuses["500"] == 0, traffic.statuses
    await audit_since(since)
