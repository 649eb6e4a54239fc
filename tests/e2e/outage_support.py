"""What the outage tests share: commands sent through the api while a fault lasts, the stack's
PIDs from `status`, the head position, and the audit of what was written since."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx

from bench.stack.lifecycle import ServiceStatus, load_services, stack_status
from system.config import Settings

CLI = str(Path(sys.executable).with_name("cqrs-bench"))
RECOVERY_LIMIT_S = 15.0
"""The promise: a process killed from outside is back and healthy within this, unaided."""


class Traffic:
    """Lanes that open an account each and deposit into it through the api until stopped.

    Counts every answer by status (`transport` when no answer came: refused, reset, timeout).
    """

    def __init__(self, settings: Settings, lanes: int = 3, pause_s: float = 0.03) -> None:
        self.settings = settings
        self.lanes = lanes
        self.pause_s = pause_s
        self.statuses: Counter[str] = Counter()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._client = httpx.AsyncClient(base_url=settings.api_url, timeout=15.0)

    def ok(self) -> int:
        return self.statuses["200"] + self.statuses["201"]

    async def __aenter__(self) -> Traffic:
        self._tasks = [asyncio.create_task(self._lane()) for _ in range(self.lanes)]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        await self._client.aclose()

    async def until_ok(self, count: int, timeout_s: float = 30.0) -> None:
        """Wait until `count` more commands were acknowledged."""
        target = self.ok() + count
        deadline = time.monotonic() + timeout_s
        while self.ok() < target:
            assert time.monotonic() < deadline, f"no progress: {dict(self.statuses)}"
            await asyncio.sleep(0.05)

    async def _lane(self) -> None:
        account: str | None = None
        owner = f"outage-{uuid.uuid4().hex[:8]}"
        while not self._stop.is_set():
            try:
                if account is None:
                    response = await self._client.post("/accounts", json={"owner_id": owner})
                    if response.status_code == 201:
                        account = response.json()["account_id"]
                else:
                    response = await self._client.post(
                        f"/accounts/{account}/deposits", json={"amount": 1}
                    )
                status = str(response.status_code)
                if status == "503":
                    assert response.headers.get("Retry-After"), "a 503 without Retry-After"
            except httpx.TransportError:
                status = "transport"
            self.statuses[status] += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.pause_s):
                    await self._stop.wait()


async def statuses(settings: Settings) -> dict[str, ServiceStatus]:
    """Every stack service's row of `cqrs-bench status`, by name."""
    load_services()
    return {s.name: s for s in await stack_status(settings)}


async def head(settings: Settings) -> int:
    """The highest global position written so far."""
    conn = await asyncpg.connect(settings.pg_dsn)
    try:
        position: int = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
        return position
    finally:
        await conn.close()


async def wait_replaced(settings: Settings, name: str, old_pid: int) -> float:
    """Seconds until `name` runs under a new PID and is healthy (fails after the limit)."""
    started = time.monotonic()
    deadline = started + RECOVERY_LIMIT_S
    while True:
        row = (await statuses(settings))[name]
        if row.healthy and row.pid not in (None, old_pid):
            return time.monotonic() - started
        assert time.monotonic() < deadline, f"{name} not back within {RECOVERY_LIMIT_S}s: {row}"
        await asyncio.sleep(0.2)


async def wait_healthy(settings: Settings, timeout_s: float = 60.0) -> dict[str, ServiceStatus]:
    """Every service healthy again (fails with the unhealthy ones after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = await statuses(settings)
        down = [name for name, row in rows.items() if not row.healthy]
        if not down:
            return rows
        assert time.monotonic() < deadline, f"still unhealthy after {timeout_s}s: {down}"
        await asyncio.sleep(0.3)


async def audit_since(position: int) -> str:
    """Run `cqrs-bench audit --since POSITION`; fail with its report unless it passes."""
    done = await asyncio.to_thread(
        subprocess.run,
        [CLI, "audit", "--since", str(position), "--catch-up-timeout", "120"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"audit failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout
