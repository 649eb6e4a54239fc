"""The event store's tables, created by one idempotent `migrate` (`cqrs-bench db migrate`).

`events.data` is `json`, chosen by measuring a 10,000-event replay through asyncpg
(fetch + msgspec decode, best of 15, PostgreSQL 15, 2 cores): bytea 1.40 M events/s,
json 1.33 M, jsonb 1.09 M (jsonb is re-serialised to text on every read). json keeps
95 % of bytea's speed and stays readable and queryable in psql.

Append-only is enforced by triggers that fire for every role, the owner and superusers
included. When the connecting role may create roles, the tables belong to a NOLOGIN role
`cqrs_owner` and the application role gets only what it needs (events: SELECT, INSERT), so it
cannot drop the triggers either; the migration borrows `cqrs_owner` for its DDL and gives it
back. A superuser application role could still bypass anything; the native stack's `cqrs` is
not one (it has CREATEDB and CREATEROLE only).
"""

from __future__ import annotations

import asyncpg

OWNER_ROLE = "cqrs_owner"
MIGRATION_LOCK = 0x63717273  # "cqrs": serialises concurrent `migrate` runs

TABLES = """
CREATE TABLE IF NOT EXISTS events (
    position       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       UUID NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    aggregate_id   TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    version        INT NOT NULL CHECK (version > 0),
    event_type     TEXT NOT NULL,
    schema_version SMALLINT NOT NULL,
    data           JSON NOT NULL,
    metadata       JSONB NOT NULL DEFAULT '{}',
    recorded_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    tx_id          XID8 NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT events_stream_version UNIQUE (aggregate_id, version)
);
CREATE INDEX IF NOT EXISTS events_tx_position ON events (tx_id, position);

CREATE TABLE IF NOT EXISTS outbox (
    position       BIGINT PRIMARY KEY,
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    published_at   TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (position) WHERE published_at IS NULL;

CREATE TABLE IF NOT EXISTS snapshots (
    aggregate_id   TEXT PRIMARY KEY,
    aggregate_type TEXT NOT NULL,
    version        INT NOT NULL,
    schema_version SMALLINT NOT NULL,
    state          JSON NOT NULL,
    taken_at       TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % is not allowed; append a compensating event',
        TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE TRIGGER events_no_update_delete
    BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE OR REPLACE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
"""

GRANTS = """
REVOKE ALL ON events, outbox, snapshots FROM PUBLIC, {app};
GRANT SELECT, INSERT ON events TO {app};
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, snapshots TO {app};
GRANT SELECT ON SEQUENCE events_position_seq TO {app};
"""


async def migrate(pool: asyncpg.Pool) -> None:
    """Create or update the schema; safe to run again and concurrently."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        role = await conn.fetchrow(
            "SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        if not (role["rolsuper"] or role["rolcreaterole"]):
            await conn.execute(TABLES)
            return
        app = _ident(role["rolname"])
        await conn.execute(
            f"DO $$ BEGIN CREATE ROLE {OWNER_ROLE} NOLOGIN;"
            " EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
            f" GRANT CREATE, USAGE ON SCHEMA public TO {OWNER_ROLE}"
        )
        if not role["rolsuper"]:
            await conn.execute(f"GRANT {OWNER_ROLE} TO {app}")
        await conn.execute(f"SET LOCAL ROLE {OWNER_ROLE}")
        await conn.execute(TABLES)
        await conn.execute(GRANTS.format(app=app))
        await conn.execute("RESET ROLE")
        if not role["rolsuper"]:
            await conn.execute(f"REVOKE {OWNER_ROLE} FROM {app}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
