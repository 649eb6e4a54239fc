"""PostgreSQL 15 from Debian's `postgresql-15`: a private cluster under `<stack_dir>/postgres`.

initdb runs once (as the `postgres` OS user, since initdb refuses root) with the superuser
`postgres`; the owner role `cqrs_owner` owns the database and runs migrations, and the
application role of the DSN (`cqrs`) is a plain LOGIN role that owns nothing and can grant itself
nothing, so the event store's append-only rules hold for it by privilege, not only by trigger
(`system/eventstore/schema.py`). Every start re-applies these rights (an older cluster's `cqrs`
had CREATEROLE). All use the DSN's password (loopback only). Settings
live in `cqrs-bench.conf`, rewritten at every start: loopback only, our port, fsync and
synchronous_commit explicitly on, 200 connections, and `track_commit_timestamp` on, so the
outbox relay can read each event's commit time (`pg_xact_commit_timestamp`) for lag stamps.

`postmaster.pid` is PostgreSQL's own guard: it names the postmaster and its shared memory
key, which a new postmaster checks so that it never runs beside backends orphaned by a kill -9.
So a start never deletes it while any process of this cluster lives (postmaster or orphaned
backend, recognised by their working directory, the data directory); after a kill -9 the file
stays, and PostgreSQL's own crash recovery runs. Only a file whose PID now belongs to some
unrelated process, with nothing of the cluster alive, is removed (PostgreSQL would refuse it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from bench.stack.process import (
    StackError,
    chown_tree,
    ensure_port_free,
    pid_alive,
    run,
    start_detached,
    wait_until,
)
from bench.stack.registry import Service, is_local_default, register_service, service_paths
from system.config import DEFAULT_PG_PORT, OWNER_ROLE, Settings

PG_BIN = Path(os.environ.get("CQRS_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
SUPERUSER = "postgres"

CONFIG = """\
# written by cqrs-bench at every start; edits are overwritten
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
max_connections = 200
shared_buffers = 128MB
fsync = on
synchronous_commit = on
full_page_writes = on
track_commit_timestamp = on
log_min_duration_statement = -1
log_line_prefix = '%m [%p] '
"""


def _dsn_parts(dsn: str) -> tuple[str, str, str]:
    parts = urlsplit(dsn)
    return parts.username or "cqrs", parts.password or "cqrs", parts.path.lstrip("/") or "cqrs"


async def _connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, timeout=3)


async def health(settings: Settings) -> bool:
    try:
        conn = await _connect(settings.pg_dsn)
    except Exception:
        return False
    try:
        return bool(await conn.fetchval("SELECT 1") == 1)
    finally:
        await conn.close()


async def version(settings: Settings) -> str | None:
    try:
        conn = await _connect(settings.pg_dsn)
    except Exception:
        return None
    try:
        value = await conn.fetchval("SHOW server_version")
        return str(value).split()[0]
    finally:
        await conn.close()


def _initdb(data: Path, password: str) -> None:
    if not (PG_BIN / "initdb").exists():
        raise StackError(
            f"PostgreSQL 15 binaries not found in {PG_BIN}; install them with "
            "`apt-get install -y postgresql-15` (or set CQRS_PG_BIN)."
        )
    root = data.parent
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / "data.initdb"
    if tmp.exists():
        run(["rm", "-rf", str(tmp)], what="removing an unfinished initdb")
    tmp.mkdir(mode=0o700)
    with tempfile.NamedTemporaryFile("w", dir=root, delete=False) as pw:
        pw.write(password + "\n")
    pwfile = Path(pw.name)
    chown_tree(root, OS_USER)
    try:
        run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(tmp),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            what="initdb",
            user=OS_USER if os.geteuid() == 0 else None,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    with (tmp / "postgresql.conf").open("a") as conf:
        conf.write("\ninclude_if_exists = 'cqrs-bench.conf'\n")
    tmp.rename(data)


async def start(settings: Settings) -> int:
    paths = service_paths(settings, "postgres")
    data = paths.root / "data"
    user, password, db = _dsn_parts(settings.pg_dsn)
    if not (data / "PG_VERSION").exists():
        _initdb(data, password)
    (data / "cqrs-bench.conf").write_text(CONFIG.format(port=DEFAULT_PG_PORT))
    await _settle_lock_file(data)
    paths.root.mkdir(parents=True, exist_ok=True)
    chown_tree(paths.root, OS_USER)
    ensure_port_free("127.0.0.1", DEFAULT_PG_PORT, "postgres")
    as_user = OS_USER if os.geteuid() == 0 else None
    pid = start_detached([str(PG_BIN / "postgres"), "-D", str(data)], paths, user=as_user)
    admin_dsn = f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{DEFAULT_PG_PORT}/postgres"

    async def accepting() -> bool:
        conn = await _connect(admin_dsn)
        await conn.close()
        return True

    if await wait_until(accepting, timeout=60):
        await _ensure_roles(admin_dsn, user, password, db)
    return pid


def cluster_processes(data: Path) -> list[int]:
    """Live processes running in `data` (a postmaster and its backends chdir there)."""
    target = data.resolve()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            if Path(os.readlink(entry / "cwd")) == target and pid_alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def lock_file_pid(data: Path) -> int | None:
    """The postmaster PID recorded in `data/postmaster.pid`, if the file is there."""
    try:
        return int((data / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


async def _settle_lock_file(data: Path, wait_s: float = 15.0) -> None:
    """Make `postmaster.pid` safe to start on, never deleting it from under a live cluster.

    A live postmaster of this data directory is an error (stop it, or let it finish its own
    recovery); orphaned backends are waited for (they exit once they notice the postmaster's
    death). A file naming a live but unrelated process, with nothing of the cluster left, is
    the only one removed; a dead PID is left for PostgreSQL, which replaces it itself.
    """
    recorded = lock_file_pid(data)
    if recorded is None:
        return
    deadline = time.monotonic() + wait_s
    while cluster := cluster_processes(data):
        if recorded in cluster:
            raise StackError(
                f"postgres: a postmaster (pid {recorded}) still runs on {data} but does not "
                f"answer; wait for its recovery, or stop it (kill -INT {recorded}), then "
                "`cqrs-bench up postgres` again."
            )
        if time.monotonic() > deadline:
            raise StackError(
                f"postgres: processes of the old cluster are still alive ({cluster}) after "
                f"its postmaster died; stop them (kill {' '.join(map(str, cluster))}), then "
                "`cqrs-bench up postgres` again."
            )
        await asyncio.sleep(0.2)
    if pid_alive(recorded):
        (data / "postmaster.pid").unlink(missing_ok=True)


async def _ensure_roles(
    admin_dsn: str, user: str, password: str, db: str, owner: str = OWNER_ROLE
) -> None:
    """The owner and application roles and the database, created once and re-tightened on
    every start (so a cluster initialised by an older version loses its excess rights).

    The owner (LOGIN, CREATEDB, CREATEROLE: migrations and the benchmarks' scratch databases)
    owns the database and everything in it; the application role gets LOGIN and, for the
    outbox watermark, `pg_read_all_stats` (read-only statistics), nothing else.
    """
    quoted = password.replace("'", "''")
    conn = await _connect(admin_dsn)
    try:
        for role, rights in ((owner, "CREATEDB CREATEROLE"), (user, "NOCREATEDB NOCREATEROLE")):
            verb = "ALTER" if await conn.fetchval(ROLE_EXISTS, role) else "CREATE"
            await conn.execute(
                f'{verb} ROLE "{role}" LOGIN NOSUPERUSER NOREPLICATION NOBYPASSRLS'
                f" {rights} PASSWORD '{quoted}'"
            )
        granted = await conn.fetch(MEMBERSHIPS, user)
        for (role,) in granted:
            if role != "pg_read_all_stats":
                await conn.execute(f'REVOKE "{role}" FROM "{user}" CASCADE')
        # the outbox watermark must see every session's open transaction
        await conn.execute(f'GRANT pg_read_all_stats TO "{user}"')
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            await conn.execute(f'CREATE DATABASE "{db}" OWNER "{owner}"')
        owned = [r[0] for r in await conn.fetch(OWNED_DATABASES, user)]
    finally:
        await conn.close()
    for database in {db, *owned}:
        conn = await _connect(admin_dsn.rsplit("/", 1)[0] + f"/{database}")
        try:
            await conn.execute(f'REASSIGN OWNED BY "{user}" TO "{owner}"')
            await conn.execute(f'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "{user}"')
        finally:
            await conn.close()


ROLE_EXISTS = "SELECT 1 FROM pg_roles WHERE rolname = $1"
MEMBERSHIPS = """
SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1)
"""
OWNED_DATABASES = """
SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = $1)
"""


register_service(
    Service(
        name="postgres",
        url=lambda s: s.pg_dsn,
        health=health,
        version=version,
        start=start,
        managed=lambda s: is_local_default(s.pg_dsn, DEFAULT_PG_PORT),
        ports=lambda _s: [DEFAULT_PG_PORT],
        start_timeout=60.0,
        stop_signal=signal.SIGINT,  # "fast" shutdown: do not wait for clients to disconnect
    )
)
