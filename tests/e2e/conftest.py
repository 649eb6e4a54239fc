"""End-to-end fixtures: the whole stack from `cqrs-bench up`, driven over HTTP like a user would.

The stack is brought up once (idempotent: healthy services are left alone); if the api, relay
or projector is still not healthy the tests FAIL with what to do, they never skip.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from system.config import Settings

SYSTEM_SERVICES = ["api", "relay", "projector"]
WAIT_MS = 10_000

Reader = Callable[[str, int], Awaitable[Any]]


def _unhealthy(settings: Settings) -> list[str]:
    from bench.stack.lifecycle import load_services, stack_status

    load_services()
    statuses = asyncio.run(stack_status(settings))
    return [f"{s.name} ({s.url})" for s in statuses if not s.healthy]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session", autouse=True)
def stack(settings: Settings) -> Settings:
    """The whole stack, api/relay/projector included, healthy (started once if need be)."""
    if _unhealthy(settings):
        cli = Path(sys.executable).with_name("cqrs-bench")
        subprocess.run([str(cli), "up"], check=False, timeout=600)
    down = _unhealthy(settings)
    if down:
        pytest.fail(
            f"stack services not healthy: {', '.join(down)}. Run `uv run cqrs-bench up`; "
            "`uv run cqrs-bench logs SERVICE` shows why one failed.",
            pytrace=False,
        )
    return settings


@pytest.fixture(scope="session")
async def api(stack: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the running api (Settings.api_url)."""
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30.0) as client:
        yield client


@pytest.fixture
async def db(stack: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection per test: the fault tests restart PostgreSQL, which closes older ones."""
    conn = await asyncpg.connect(stack.pg_dsn)
    yield conn
    await conn.close()


@pytest.fixture
def read(api: httpx.AsyncClient) -> Reader:
    """GET a query once its read model reached `position` (read-your-writes, no sleeping)."""

    async def get(path: str, position: int) -> Any:
        separator = "&" if "?" in path else "?"
        response = await api.get(f"{path}{separator}min_position={position}&wait_ms={WAIT_MS}")
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    return get
