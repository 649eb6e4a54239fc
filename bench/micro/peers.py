"""The peers we measure against, and how they get installed on our PostgreSQL.

- `eventsourcing` (PyPI, with its PostgreSQL persistence): a dependency of this project.
- message-db: the SQL of the npm package `@eventide/message-db`, fetched with `npm pack` into
  the cache directory and installed into the database `message_store` in the order its own
  `database/install.sh` uses (role, schema, extension, table, types, functions, indexes, views,
  privileges). Nothing of it is committed here. The benchmark installs the same SQL into a
  database of its own per run (empty tables, as ours: `fresh_event_store`), and checks our
driver against pgbench.
"""

from __future__ import annotations

import asyncio
import glob
import importlib.util
import os
import re
import secrets
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from bench.micro.harness import drop_database, ensure_database, recreate_database, with_database
from system.bootstrap import migrate_event_store
from system.config import Settings

MESSAGE_DB_PACKAGE = "@eventide/message-db"
MESSAGE_DB_DATABASE = "message_store"
EVENTSOURCING_DATABASE = "cqrs_peer_eventsourcing"
"""Prefix of eventsourcing's database; each run adds its tag and drops it afterwards."""
OURS_DATABASE = "cqrs_peer_ours"
"""Prefix of the database our side appends into in the peers' append comparisons."""
INSTALL_COMMAND = "uv run cqrs-bench install-peers"

MESSAGE_DB_SCRIPTS = [
    "roles/message-store.sql",
    "schema/message-store.sql",
    "extensions/pgcrypto.sql",
    "tables/messages.sql",
    "types/message.sql",
    "functions/message-store-version.sql",
    "functions/hash-64.sql",
    "functions/acquire-lock.sql",
    "functions/category.sql",
    "functions/is-category.sql",
    "functions/id.sql",
    "functions/cardinal-id.sql",
    "functions/stream-version.sql",
    "functions/write-message.sql",
    "functions/get-stream-messages.sql",
    "functions/get-category-messages.sql",
    "functions/get-last-stream-message.sql",
    "indexes/messages-id.sql",
    "indexes/messages-stream.sql",
    "indexes/messages-category.sql",
    "views/stream-summary.sql",
    "views/type-summary.sql",
    "views/stream-type-summary.sql",
    "views/type-stream-summary.sql",
    "views/category-type-summary.sql",
    "views/type-category-summary.sql",
    "privileges/schema.sql",
    "privileges/table.sql",
    "privileges/sequence.sql",
    "privileges/functions.sql",
    "privileges/views.sql",
]
"""In the order of message-db's install.sh, install-functions.sh, -indexes.sh, -views.sh and
-privileges.sh."""


class PeerNotInstalled(RuntimeError):
    """A peer the suite compares against is missing; the message says how to install it."""


def require_eventsourcing() -> None:
    """Fail (never skip) when the `eventsourcing` library or its PostgreSQL driver is missing."""
    for module in ("eventsourcing", "psycopg"):
        if importlib.util.find_spec(module) is None:
            raise PeerNotInstalled(
                f"peer 'eventsourcing' is not installed (no module {module!r}): run"
                " `uv add 'eventsourcing[postgres]'` (or `uv sync` in this project)"
            )


async def require_message_db(dsn: str) -> None:
    """Fail (never skip) unless message-db's functions exist in its database."""
    message = (
        f"peer 'message-db' is not installed in database {MESSAGE_DB_DATABASE!r}: run"
        f" `{INSTALL_COMMAND}` (needs npm: it runs `npm pack {MESSAGE_DB_PACKAGE}` into the"
        " cache directory and installs its SQL)"
    )
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        raise PeerNotInstalled(message) from None
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'message_store'"
            " AND p.proname IN ('write_message', 'get_stream_messages')"
        )
    finally:
        await conn.close()
    if found != 2:
        raise PeerNotInstalled(message)


def fetch_message_db(cache_dir: Path) -> Path:
    """`npm pack` the package into the cache (once) and extract it; returns its database dir."""
    target = cache_dir / "message-db"
    database = target / "package" / "database"
    if database.is_dir():
        return database
    npm = shutil.which("npm")
    if npm is None:
        raise PeerNotInstalled(
            "installing message-db needs npm (e.g. `apt-get install npm`), then run"
            f" `{INSTALL_COMMAND}`"
        )
    target.mkdir(parents=True, exist_ok=True)
    tarballs = sorted(target.glob("eventide-message-db-*.tgz"))
    if not tarballs:
        subprocess.run(
            [npm, "pack", MESSAGE_DB_PACKAGE], cwd=target, check=True, capture_output=True
        )
        tarballs = sorted(target.glob("eventide-message-db-*.tgz"))
    with tarfile.open(tarballs[-1]) as archive:
        archive.extractall(target, filter="data")
    return database


async def install_message_db(settings: Settings, database: str = MESSAGE_DB_DATABASE) -> str:
    """Install message-db's schema into `database` (created if missing) unless there; returns
    its version."""
    scripts = fetch_message_db(settings.cache_dir)
    dsn = await ensure_database(settings.pg_owner_dsn, database)
    conn = await asyncpg.connect(dsn, server_settings={"client_min_messages": "warning"})
    try:
        installed = await conn.fetchval("SELECT to_regproc('message_store.write_message')")
        if installed is not None:
            version: str = await conn.fetchval("SELECT message_store.message_store_version()")
            return version
        async with conn.transaction():
            for script in MESSAGE_DB_SCRIPTS:
                sql = (scripts / script).read_text()
                await conn.execute(sql)
    finally:
        await conn.close()
    return (scripts / "VERSION.txt").read_text().strip()


def install_peers(settings: Settings) -> str:
    """Check eventsourcing is importable and install message-db; returns message-db's version.

    Raises PeerNotInstalled naming what is missing.
    """
    require_eventsourcing()
    return asyncio.run(install_message_db(settings))


async def fresh_message_db(settings: Settings, database: str) -> str:
    """A new database `database` with message-db installed as in `message_store` (from the
    cached package): each run compares on empty tables, as ours; returns its DSN."""
    await drop_database(settings.pg_owner_dsn, database)
    await install_message_db(settings, database)
    return with_database(settings.pg_owner_dsn, database)


async def fresh_event_store(settings: Settings, database: str) -> str:
    """A new database `database` with our event store's schema; returns its DSN.

    The peers' append comparisons append into it rather than into the micro suite's database,
    which holds whatever the benchmarks before them appended (over 100,000 events when the whole
    suite runs, none when they run alone): how PostgreSQL plans our append statement depends on
    that table's size, statistics and visibility map (analyzed at 10,000 rows and not vacuumed
    since, every append is planned afresh; after a VACUUM, or at 1,000 rows, one generic plan
    per connection serves them all)."""
    dsn = await recreate_database(settings.pg_owner_dsn, database)
    await migrate_event_store(settings, dsn=dsn, grant=False)
    return dsn


async def analyze(dsn: str) -> None:
    """Planner statistics for every table of a database, as autovacuum keeps them on a live
    system: a freshly seeded table without them can get plans several times slower (message-db's
    `get_stream_messages` on a fresh install reads 4x slower)."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        for (table,) in tables:
            await conn.execute(f"ANALYZE {table}")
    finally:
        await conn.close()


PGBENCH_WRITE_MESSAGE = """\
SELECT message_store.write_message(
  gen_random_uuid()::text, 'account-' || :run || 'x' || :client_id, 'MoneyDeposited',
  '{"amount": 100}', NULL, :version);
\\set version :version + 1
"""
"""One `write_message` per transaction with the expected version, on one stream per pgbench
client (`account-RUNxCLIENT`: the same category, so the same lock, as our driver's streams);
pgbench keeps each client's `version` from one transaction to the next."""


def find_pgbench() -> str:
    """pgbench on PATH, or the one the Debian postgresql packages put beside the server."""
    found = shutil.which("pgbench") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), reverse=True)), None
    )
    if found is None:
        raise PeerNotInstalled(
            "pgbench not found (on PATH or in /usr/lib/postgresql/*/bin): it comes with the"
            " Debian package `postgresql-15` that bench/stack/prerequisites.sh installs"
        )
    return found


def pgbench_write_message(dsn: str, clients: int, transactions: int) -> float:
    """Messages/s of pgbench running `write_message` on `clients` connections (2 threads),
    `transactions` each, after its connections are up (pgbench's own figure)."""
    url = urlsplit(dsn)
    env = {
        **os.environ,
        "PGPASSWORD": url.password or "",
        "PGOPTIONS": "-c search_path=message_store,public",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_WRITE_MESSAGE)
        script.flush()
        command = [
            find_pgbench(),
            "--no-vacuum",
            f"--host={url.hostname or '127.0.0.1'}",
            f"--port={url.port or 5432}",
            f"--username={url.username or ''}",
            f"--file={script.name}",
            "--define=version=-1",
            f"--define=run={secrets.randbelow(10**12)}",
            f"--client={clients}",
            f"--jobs={min(2, clients)}",
            f"--transactions={transactions}",
            url.path.lstrip("/"),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    processed = re.search(r"actually processed: (\d+)/(\d+)", done.stdout)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if done.returncode or processed is None or tps is None or processed[1] != processed[2]:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stdout}{done.stderr}")
    return float(tps[1])
