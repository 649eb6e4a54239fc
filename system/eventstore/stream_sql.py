"""The statements that read streams, the log and snapshots (appends: `append_sql`).

Each runs on a store connection, which forces PostgreSQL's generic plan
(`pool.STORE_SERVER_SETTINGS`); `tests/integration/test_eventstore_plans.py` checks that every
one of them is planned on indexes even when built on an empty store.
"""

from __future__ import annotations

MAX_VERSION = 2**31 - 1

COLUMNS = (
    "event_id::text, aggregate_id, aggregate_type, version, position, event_type,"
    " schema_version, data, metadata, recorded_at"
)
SNAPSHOT_COLUMNS = "aggregate_id, aggregate_type, version, schema_version, state, taken_at"
STREAM_FILTER = (
    "aggregate_id = $1 AND version > $2 AND version <= $3"
    " AND ($4::timestamptz IS NULL OR recorded_at <= $4)"
)
LOAD = f"SELECT {COLUMNS} FROM events WHERE {STREAM_FILTER} ORDER BY version"
LOAD_PAYLOADS = f"SELECT event_type, data FROM events WHERE {STREAM_FILTER} ORDER BY version"
REPLAY_PAGE = 10_000
"""Versions a replay reads per statement: keeps a page's JSON far below PostgreSQL's 1 GB per
value (10,000 account events are about 0.5 MB; 10,000 orders of 100 items would be 70 MB)."""
PAGE = "aggregate_id = $1 AND version > $2 AND version <= $3"


def _replay(rows: str) -> str:
    """One page of a stream as a JSON array of its payloads (each tagged with its type by
    `encode_event`) in version order, and the stream's last version.

    The aggregate reads an ordered subquery, which PostgreSQL never flattens into the outer
    query, so it takes the rows in version order without sorting them again (as `string_agg(...
    ORDER BY version)` does: 4.0 ms per 10,000 events); ARRAY plus array_to_string took 3.5 ms,
    this 2.9 ms, the raw fetch of the same rows 2.9 ms.
    """
    return f"""
SELECT '[' || coalesce(string_agg(page.data::text, ','), '') || ']',
       (SELECT max(version) FROM events WHERE aggregate_id = $1)
FROM (SELECT data FROM events WHERE {rows} ORDER BY version) AS page
"""


REPLAY = _replay(PAGE)
"""Rehydration's usual case (no time-travel bound): testing `recorded_at`, which lies beyond the
variable-length `data` in each row, cost 40 % of a 10,000-event fetch."""
REPLAY_UNTIL = _replay(PAGE + " AND recorded_at <= $4")
AFTER_SNAPSHOT = (
    "aggregate_id = $1 AND version > coalesce(s.version, 0)"
    " AND version <= coalesce(s.version, 0) + $2"
)
LOAD_LATEST = f"""
SELECT {SNAPSHOT_COLUMNS}, tail.payloads, tail.head
FROM (SELECT) AS one
LEFT JOIN snapshots AS s ON s.aggregate_id = $1
CROSS JOIN LATERAL ({_replay(AFTER_SNAPSHOT)}) AS tail(payloads, head)
"""
"""A stream's snapshot (if any) and the first page of events after it (or from its start), in
one statement at one instant: half the round trips of `LOAD_SNAPSHOT` then `REPLAY`."""
LOAD_EVENT = f"SELECT {COLUMNS} FROM events WHERE aggregate_id = $1 AND version = $2"
READ_ALL = f"""
SELECT {COLUMNS} FROM events
WHERE (tx_id, position) > (
        COALESCE((SELECT tx_id FROM events WHERE position <= $1 ORDER BY position DESC LIMIT 1),
                 '0'::xid8),
        $1)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY tx_id, position
LIMIT $2
"""
HEAD = """
SELECT position FROM events WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY tx_id DESC, position DESC LIMIT 1
"""
NEXT_XID = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
OLDEST_XID = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
LOAD_SNAPSHOT = f"SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE aggregate_id = $1"
SAVE_SNAPSHOT = """
INSERT INTO snapshots AS s (aggregate_id, aggregate_type, version, schema_version, state)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (aggregate_id) DO UPDATE
SET aggregate_type = excluded.aggregate_type, version = excluded.version,
    schema_version = excluded.schema_version, state = excluded.state, taken_at = excluded.taken_at
WHERE s.version < excluded.version
"""
