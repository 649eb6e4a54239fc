"""SIGKILL the relay and the projector mid-burst, restart them: every acknowledged command is in
every read model exactly once (versions, counts and sums match what was acknowledged).

The relay and projector are this test's own processes (`cqrs-bench serve …`) on a private read
side: its own database on the stack's PostgreSQL (the relay lock is per database, so this relay
leads), its own topic prefix and index prefix. The stack's processes are not touched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from system.app.commands import CommandHandlers
from system.bootstrap import open_event_store, open_read_store
from system.config import Settings, dsn_user
from system.eventstore.schema import migrate
from system.projections import PROJECTIONS
from tests.integration.readside_fixtures import drop_read_side
from tests.integration.readside_workload import Workload, mismatches

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).with_name("cqrs-bench"))
BURST = 5000
KILL_AT = 1500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(what: str, settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CQRS_PG_DSN": settings.pg_dsn,
        "CQRS_ES_INDEX_PREFIX": settings.es_index_prefix,
        "CQRS_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [CLI, "serve", what, "--metrics-port", str(_free_port())],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _leader(dsn: str) -> str | None:
    conn = await asyncpg.connect(dsn)
    try:
        name: str | None = await conn.fetchval(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.objid = $1 AND l.granted AND l.database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())",
            0x72656C61,
        )
        return name
    finally:
        await conn.close()


async def _wait_leader(dsn: str, pid: int) -> None:
    deadline = time.monotonic() + 30
    while await _leader(dsn) != f"cqrs-relay {pid}":
        assert time.monotonic() < deadline, f"relay {pid} never took the outbox lock"
        await asyncio.sleep(0.2)


@pytest.fixture
async def private(settings: Settings) -> AsyncIterator[Settings]:
    """Settings for a private read side: fresh database (migrated), topics and indices, all
    dropped afterwards."""
    tag = f"crash{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(settings.pg_owner_dsn)
    await admin.execute(f"CREATE DATABASE {tag}")
    dsn = settings.pg_dsn.rsplit("/", 1)[0] + f"/{tag}"
    owner = settings.pg_owner_dsn.rsplit("/", 1)[0] + f"/{tag}"
    pool = await asyncpg.create_pool(owner, min_size=1, max_size=2)
    await migrate(pool, dsn_user(settings.pg_dsn))
    await pool.close()
    own = dataclasses.replace(
        settings,
        pg_dsn=dsn,
        pg_owner_dsn=owner,
        es_index_prefix=tag,
        kafka_topic_prefix=f"{tag}-",
    )
    try:
        yield own
        await drop_read_side(own, own_topics=True)
    finally:
        await admin.execute(f"DROP DATABASE {tag} WITH (FORCE)")
        await admin.close()


@pytest.fixture
async def handlers(private: Settings) -> AsyncIterator[CommandHandlers]:
    store = await open_event_store(private, min_size=2, max_size=30)
    yield CommandHandlers(store, private)
    await store.close()


async def test_killing_relay_and_projector_mid_burst_loses_and_duplicates_nothing(
    private: Settings, handlers: CommandHandlers, tmp_path: Path
) -> None:
    own = private
    log = tmp_path / "serve.log"
    relay = _serve("relay", own, log)
    projector = _serve("projector", own, log)
    store = open_read_store(own)
    try:
        await _wait_leader(own.pg_dsn, relay.pid)
        workload = Workload(handlers, lanes=20, seed=5)
        await workload.setup()
        burst = asyncio.create_task(workload.run(BURST))
        while workload.acked < KILL_AT:
            assert not burst.done(), "the burst ended before the kill"
            await asyncio.sleep(0.01)
        relay.send_signal(signal.SIGKILL)
        projector.send_signal(signal.SIGKILL)
        relay.wait(10)
        projector.wait(10)
        killed_at = workload.acked
        await asyncio.sleep(1.0)
        relay = _serve("relay", own, log)
        projector = _serve("projector", own, log)
        await burst
        assert killed_at < workload.acked, "nothing was acknowledged after the kill"

        reached = await store.wait_for_position(list(PROJECTIONS), workload.last_position, 180)
        assert reached, f"stuck at {await store.projection_positions(list(PROJECTIONS))}"
        for name, expected in workload.expected().items():
            docs = await store.snapshot(store.alias(name))
            assert mismatches(expected, docs) == [], name
    finally:
        for process in (relay, projector):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
        await store.close()
