from __future__ import annotations

import uuid

import asyncpg
import pytest

from system.config import Settings

pytestmark = pytest.mark.integration


async def test_version_durability_and_round_trip(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.pg_owner_dsn)
    try:
        assert str(await conn.fetchval("SHOW server_version")).startswith("15")
        assert await conn.fetchval("SHOW fsync") == "on"
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
        assert int(await conn.fetchval("SHOW max_connections")) >= 100
        table = f"stack_test_{uuid.uuid4().hex}"
        await conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, body jsonb NOT NULL)")
        rows = [(i, f'{{"n": {i}, "s": "héllo"}}') for i in range(100)]
        await conn.executemany(f"INSERT INTO {table} VALUES ($1, $2::jsonb)", rows)
        got = await conn.fetch(
            f"SELECT id, body->>'n' AS n, body->>'s' AS s FROM {table} ORDER BY id"
        )
        assert [(r["id"], int(r["n"]), r["s"]) for r in got] == [
            (i, i, "héllo") for i in range(100)
        ]
        await conn.execute(f"DROP TABLE {table}")
    finally:
        await conn.close()
