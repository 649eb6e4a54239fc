"""`python -m bench.micro.append_cost` measures every variant on the real PostgreSQL and drops
its scratch database afterwards."""

from __future__ import annotations

import asyncio
import os
import re
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
        env={**os.environ, "COLUMNS": "160"},  # one line per row
    )
    assert done.returncode == 0, done.stderr
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in done.stdout.splitlines()
        if line.startswith("│")
    ]
    assert [row[0] for row in rows] == list(VARIANTS)
    assert rows[0][2] == "1.00 (1.00-1.00)"  # raw against itself
    assert rows[0][5] == "1.00"
    for row in rows:  # PostgreSQL runs on this machine here: its CPU is found, and the client's
        assert micros(row[3]) > 0 and micros(row[4]) > 0, row
    assert asyncio.run(databases_named(settings.pg_owner_dsn, DATABASE)) == 0


def micros(cell: str) -> int:
    found = re.fullmatch(r"(\d+) µs", cell)
    assert found, f"not a CPU time: {cell!r}"
    return int(found[1])
