"""The event store's tables, created by one idempotent `migrate` (`cqrs-bench db migrate`).

`events.data` is `json`, chosen by measuring a 10,000-event replay through asyncpg
(fetch + msgspec decode, best of 15, PostgreSQL 15, 2 cores): bytea 1.40 M events/s,
json 1.33 M, jsonb 1.09 M (jsonb is re-serialised to text on every read). json keeps
95 % of bytea's speed and stays readable and queryable in psql. Each payload starts with its
type as msgspec's tag (`{"event_type":"MoneyDeposited","amount":5}`), which the constraint
`events_payload_tag` holds to the row's `event_type`: replay decodes a page of payloads in one
call without PostgreSQL splicing the tag in per row.

Least privilege: the tables belong to the owner role (`cqrs_owner`, which runs `migrate`); the
application role gets only what it uses (events: SELECT, INSERT; outbox: SELECT, INSERT and
UPDATE of `published_at`; snapshots: SELECT, INSERT, UPDATE; idempotency_keys: SELECT, INSERT,
DELETE of expired keys). It owns nothing, may create no role or database and is a member of no
role it could switch to, so it can neither drop nor disable the triggers that make `events`
append-only (they fire for every role, the owner included). `migrate` run as the application
role changes nothing: it checks that the schema is current and names the owner DSN otherwise.
"""

from __future__ import annotations

import asyncpg

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
-- Replay decodes payloads by the tag they carry: it must name the row's type. NOT VALID: rows
-- stored before payloads carried their tag stay (replay decodes those one by one). Looked up
-- first: ALTER TABLE would queue every append behind its lock on each `migrate`.
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_constraint
                   WHERE conrelid = 'events'::regclass AND conname = 'events_payload_tag') THEN
        ALTER TABLE events ADD CONSTRAINT events_payload_tag
            CHECK (starts_with(data::text, '{"event_type":"' || event_type || '"')) NOT VALID;
    END IF;
END $$;

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

CREATE TABLE IF NOT EXISTS idempotency_keys (
    key            TEXT PRIMARY KEY,
    request_hash   TEXT NOT NULL,
    status         SMALLINT NOT NULL,
    body           BYTEA NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);

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
REVOKE ALL ON events, outbox, snapshots, idempotency_keys FROM PUBLIC, {app};
GRANT SELECT, INSERT ON events TO {app};
GRANT SELECT, INSERT ON outbox TO {app};
GRANT UPDATE (published_at) ON outbox TO {app};
GRANT SELECT, INSERT, UPDATE ON snapshots TO {app};
GRANT SELECT, INSERT, DELETE ON idempotency_keys TO {app};
GRANT SELECT, USAGE ON SEQUENCE events_position_seq TO {app};
"""
CURRENT_TABLES = ("events", "outbox", "snapshots", "idempotency_keys")


class SchemaNotCurrent(RuntimeError):
    """The connected role may not migrate and the schema is missing or outdated."""


async def migrate(pool: asyncpg.Pool, app_role: str | None = None) -> None:
    """Create or update the schema as the connected role and grant `app_role` its share.

    Safe to run again and concurrently. Run as a role that owns nothing here (the application
    role of an owner-migrated database) it only checks that the schema is current.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        events_owner = await conn.fetchval(
            "SELECT pg_get_userbyid(relowner) FROM pg_class"
            " WHERE oid = to_regclass('public.events')"
        )
        me = await conn.fetchval("SELECT current_user")
        if events_owner is not None and events_owner != me:
            missing = [
                t
                for t in CURRENT_TABLES
                if await conn.fetchval("SELECT to_regclass($1)", f"public.{t}") is None
            ]
            if missing:
                raise SchemaNotCurrent(
                    f"the event store lacks {', '.join(missing)}; run `cqrs-bench db migrate`"
                    f" (it connects as {events_owner}: CQRS_PG_OWNER_DSN)"
                )
            return
        await conn.execute(TABLES)
        if app_role and app_role != me:
            await conn.execute(GRANTS.format(app=_ident(app_role)))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
