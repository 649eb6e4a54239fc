"""The raw INSERT ceiling's table and statements: the event row's columns with only a primary
key, no guard, no outbox. Used by the append micro-benchmarks (`test_append.py`) and by
`python -m bench.micro.append_cost`, so both measure against the same ceiling."""

from __future__ import annotations

RAW_TABLE = """
CREATE TABLE IF NOT EXISTS raw_events (
    position       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       UUID NOT NULL DEFAULT gen_random_uuid(),
    aggregate_id   TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    version        INT NOT NULL,
    event_type     TEXT NOT NULL,
    schema_version SMALLINT NOT NULL,
    data           JSON NOT NULL,
    metadata       JSONB NOT NULL DEFAULT '{}',
    recorded_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
)
"""
RAW_INSERT = """
INSERT INTO raw_events (aggregate_id, aggregate_type, version, event_type, schema_version, data)
SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::int2[], $6::json[])
"""
RAW_INSERT_ONE = """
INSERT INTO raw_events (aggregate_id, aggregate_type, version, event_type, schema_version, data)
VALUES ($1, $2, $3, $4, $5, $6)
"""
