"""`python -m bench.micro.append_cost` measures every variant on the real PostgreSQL and drops
its scratch database afterwards."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import asyncpg
import pytest

from bench.micro.append_cost import DATABASE, VARIANTS
from system.config import Settings

pytestmark = pytest.mark.integration
SHORT = ["--rounds", "2", "--appends", "32", "--connections", "4"]


async def databases_named(dsn: str, name: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = $1", name
        )
        return count
    finally:
        await conn.close()


def test_a_short_run_prints_every_variant_and_leaves_no_database(settings: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.micro.append_cost", *SHORT],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == list(VARIANTS)
    assert "1.00 (1.00-1.00)" in rows[0]  # raw against itself
    assert asyncio.run(databases_named(settings.pg_owner_dsn, DATABASE)) == 0
