"""Kafka paused 10 s, Elasticsearch paused 10 s, PostgreSQL restarted, each while commands flow
through the api: the relay and the projector ride it out (same PIDs before and after), the api
answers 503 with Retry-After, never 500, while PostgreSQL is down, and the audit of everything
written since passes. Every fault is undone in `finally`, and the stack is left healthy.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import pytest

from system.config import Settings
from tests.e2e.outage_support import (
    CLI,
    Traffic,
    audit_since,
    head,
    statuses,
    wait_healthy,
)

pytestmark = pytest.mark.e2e

PAUSE_S = 10.0
WORKERS = ("api", "relay", "projector")


async def _pids(settings: Settings) -> dict[str, int | None]:
    rows = await statuses(settings)
    return {name: rows[name].pid for name in WORKERS}


@pytest.mark.parametrize("service", ["kafka", "elasticsearch"])
async def test_a_paused_backing_service_is_ridden_out(stack: Settings, service: str) -> None:
    before = await _pids(stack)
    paused = (await statuses(stack))[service].pid
    assert paused is not None
    since = await head(stack)
    async with Traffic(stack) as traffic:
        await traffic.until_ok(10)
        os.killpg(paused, signal.SIGSTOP)  # the whole group: Elasticsearch's JVM is a child
        try:
            await asyncio.sleep(PAUSE_S)
        finally:
            os.killpg(paused, signal.SIGCONT)
        await traffic.until_ok(20, timeout_s=60)
    print(f"{service} paused {PAUSE_S:.0f}s; answers {dict(traffic.statuses)}")
    await wait_healthy(stack)
    assert await _pids(stack) == before, "a process exited during the pause"
    assert traffic.statuses["500"] == 0, traffic.statuses
    await audit_since(since)


async def test_a_postgresql_restart_is_503_for_clients_and_ridden_out(stack: Settings) -> None:
    before = await _pids(stack)
    old_postgres = (await statuses(stack))["postgres"].pid
    since = await head(stack)
    async with Traffic(stack, lanes=4, pause_s=0.01) as traffic:
        await traffic.until_ok(10)
        done = await asyncio.to_thread(
            subprocess.run,
            [CLI, "restart", "postgres"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        await traffic.until_ok(20, timeout_s=60)
    print(f"postgres restarted; answers {dict(traffic.statuses)}")
    rows = await wait_healthy(stack)
    assert rows["postgres"].pid != old_postgres, "postgres was not restarted"
    assert await _pids(stack) == before, "a process exited while PostgreSQL restarted"
    assert traffic.statuses["503"] > 0, f"no request met the outage: {traffic.statuses}"
    assert traffic.statuses["500"] == 0, traffic.statuses
    await audit_since(since)
