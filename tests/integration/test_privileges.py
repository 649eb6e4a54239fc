"""Least privilege, proved as the application role on the real PostgreSQL: it can append and
read, and cannot escape the append-only rules by DDL, by deleting, or by taking another role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from system.config import OWNER_ROLE, Settings, dsn_user
from system.eventstore.schema import migrate

pytestmark = pytest.mark.integration

FORBIDDEN = [
    "ALTER TABLE events DISABLE TRIGGER events_no_update_delete",
    "ALTER TABLE events DISABLE TRIGGER ALL",
    "DROP TRIGGER events_no_update_delete ON events",
    "DROP TRIGGER events_no_truncate ON events",
    "DROP TABLE events",
    "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql"
    " AS $$ BEGIN RETURN NULL; END $$",
    "UPDATE events SET data = '{}' WHERE position = (SELECT min(position) FROM events)",
    "DELETE FROM events WHERE position = (SELECT min(position) FROM events)",
    "TRUNCATE events",
    "DELETE FROM outbox WHERE position = (SELECT min(position) FROM outbox)",
    "UPDATE outbox SET aggregate_id = 'x' WHERE position = (SELECT min(position) FROM outbox)",
    "DELETE FROM snapshots",
    f"GRANT {OWNER_ROLE} TO CURRENT_USER",
    f"SET ROLE {OWNER_ROLE}",
    "CREATE ROLE cqrs_privilege_probe",
    "CREATE DATABASE cqrs_privilege_probe",
    "CREATE TABLE cqrs_privilege_probe (x int)",
    "ALTER ROLE CURRENT_USER CREATEROLE",
]


@pytest.fixture
async def app_conn() -> AsyncIterator[asyncpg.Connection]:
    """A connection as the application role, after the owner migrated the schema."""
    settings = Settings.from_env()
    owner = await asyncpg.create_pool(settings.pg_owner_dsn, min_size=1, max_size=1)
    try:
        await migrate(owner, dsn_user(settings.pg_dsn))
    finally:
        await owner.close()
    conn = await asyncpg.connect(settings.pg_dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def test_the_app_role_has_no_role_or_database_rights(app_conn: asyncpg.Connection) -> None:
    role = await app_conn.fetchrow(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication"
        " FROM pg_roles WHERE rolname = current_user"
    )
    assert dict(role) == {
        "rolsuper": False,
        "rolcreaterole": False,
        "rolcreatedb": False,
        "rolbypassrls": False,
        "rolreplication": False,
    }
    memberships = await app_conn.fetch(
        "SELECT r.rolname, m.admin_option FROM pg_auth_members m"
        " JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = current_user::regrole"
    )
    assert [(m["rolname"], m["admin_option"]) for m in memberships] == [
        ("pg_read_all_stats", False)
    ]
    owned = await app_conn.fetchval(
        "SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole"
    )
    assert owned == 0


@pytest.mark.parametrize("statement", FORBIDDEN)
async def test_the_app_role_cannot(app_conn: asyncpg.Connection, statement: str) -> None:
    with pytest.raises(asyncpg.PostgresError) as refused:
        await app_conn.execute(statement)
    assert refused.value.sqlstate == "42501", f"{statement!r}: {refused.value!r}"
    triggers = await app_conn.fetchval(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'events'::regclass"
        " AND tgname LIKE 'events_no_%' AND tgenabled = 'O'"
    )
    assert triggers == 2


async def test_the_app_role_can_do_its_work(app_conn: asyncpg.Connection) -> None:
    """The grants are not so tight that the api or the relay would fail (rolled back after)."""
    probe = app_conn.transaction()
    await probe.start()
    try:
        position = await app_conn.fetchval(
            "INSERT INTO events (aggregate_id, aggregate_type, version, event_type,"
            " schema_version, data) VALUES ('privilege-probe-' || gen_random_uuid(), 'probe', 1,"
            " 'Probe', 1, '{\"event_type\":\"Probe\"}') RETURNING position"
        )
        await app_conn.execute(
            "INSERT INTO outbox (position, aggregate_type, aggregate_id) VALUES ($1, 'p', 'p')",
            position,
        )
        await app_conn.execute(
            "UPDATE outbox SET published_at = now() WHERE position = $1", position
        )
        await app_conn.execute(
            "INSERT INTO snapshots (aggregate_id, aggregate_type, version, schema_version, state)"
            " VALUES ('privilege-probe', 'p', 1, 1, '{}')"
        )
        await app_conn.execute(
            "UPDATE snapshots SET version = 2 WHERE aggregate_id = 'privilege-probe'"
        )
        await app_conn.execute(
            "INSERT INTO idempotency_keys (key, request_hash, status, body)"
            " VALUES ('privilege-probe', 'h', 201, '\\x7b7d')"
        )
        deleted = await app_conn.execute(
            "DELETE FROM idempotency_keys WHERE key = 'privilege-probe'"
        )
        assert deleted == "DELETE 1"
    finally:
        await probe.rollback()
