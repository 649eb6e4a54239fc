"""The append statement of `PostgresEventStore.append`, and why it is built so.

An append is one statement (one round trip, one implicit transaction): it checks that every
stream's expected version exists, inserts all events from `unnest` arrays, writes one outbox
row per event, upserts any due snapshot, stores the command's idempotency key and answer if it
has one and, unless an unpublished outbox row younger than 20 ms exists, fires `NOTIFY
cqrs_outbox` (see below). The key used to be written in a transaction around the append
(BEGIN, append, INSERT, COMMIT: four round trips where one does; every command of the load
scenarios carries a key). UNIQUE(aggregate_id, version) turns a stale expected version into
`ConcurrencyError`; the existence check (an InitPlan run before any row gets a position or a
transaction id) rejects a version that is ahead, so streams stay gap-free, and a stream's
versions get increasing positions and tx ids.

Followers read in (tx_id, position) order, only below the oldest running transaction
(`pg_snapshot_xmin`): a transaction that commits late always has a tx id above everything
already read, so it is never skipped, and no writer takes a global lock. Serialising appends
through one lock instead (`pg_advisory_xact_lock`, like `LOCK TABLE events IN EXCLUSIVE MODE`)
halved single-event appends at 16 connections: median 661/s (xid8) against 332/s (lock), xid8
ahead about 2x in each of 3 rounds (shared 2-core machine, fsync on); at 1 connection both
run about 300/s, bound by the commit's fsync.

The NOTIFY is debounced because PostgreSQL serialises the commits of notifying transactions
on one lock, which defeats group commit: NOTIFY on every append gave 760/s at 16 connections
against 2,100/s when only the first append after a drained outbox notified, and 1,960/s with no
NOTIFY at all (3 rounds, shared 2-core machine). Notifying only after a drained outbox let an
append that raced the relay's last claim silence every later one until the relay's idle poll
(relay-stage p90 0.46 s at 100 req/s); the 20 ms debounce bounds that, at most ~50 notifying
commits a second, and the relay drains without waiting while batches keep coming.

What an append costs (issue 14; single-event appends, 16 connections, shared 2-core machine,
fsync on; ratio = median of per-round ours / raw INSERT on a pool without reset, interleaved
round by round, with its interquartile range). The version guard used to be a join of the
expected versions with `events`: the generic plan each pooled connection caches after five
executions was built while `events` was small, and it hash-joined a seq scan of every event
on every append (10 ms per append at 40k rows; 0.10-0.33 of raw INSERT, falling as the table
grew). As an anti-join it is planned on the stream-version index even on an empty table
(tests/integration/test_eventstore_plans.py): 0.70-0.75 in the same runs. With that fixed,
dropping one index or the outbox at a time in a scratch database (12 rounds each):

| schema                                        | ours, events/s        | raw  | ratio            |
|-----------------------------------------------|-----------------------|------|------------------|
| full schema                                   | 2,085 [1,611, 2,624]  | 2,950 | 0.69 (0.49-0.85) |
| - events_tx_position index                    | 2,757 [2,235, 2,861]  | 4,172 | 0.61 (0.55-0.72) |
| - event_id UNIQUE                             | 2,665 [2,412, 3,854]  | 4,474 | 0.65 (0.54-0.73) |
| - outbox_unpublished index                    | 3,573 [2,429, 4,142]  | 5,989 | 0.59 (0.50-0.69) |
| - outbox row and NOTIFY                       | 3,384 [2,779, 3,719]  | 5,440 | 0.60 (0.53-0.73) |
| - outbox primary key                          | 1,982 [1,663, 2,324]  | 3,337 | 0.62 (0.50-0.75) |
| INSERT into events only (no guard, no outbox) | 2,509 [1,874, 3,105]  | 3,234 | 0.70 (0.62-1.28) |
| no outbox, no tx_id / event_id indexes        | 2,867 [2,248, 3,635]  | 4,630 | 0.63 (0.58-0.79) |

No index and not the outbox has a cost this machine can tell from noise: every variant,
down to a bare INSERT into `events`, lands at 0.6-0.7 of the raw INSERT. The rest was not the
client, as we first thought, but planning: PostgreSQL re-planned this statement on every
execution once `events` had statistics (its generic plan, over arrays of unknown length, always
looked dearer than a plan for the actual values; `pg_prepared_statements` counted 394 custom
plans and no generic one after 394 appends), about 0.2-0.3 ms of CPU against 0.05 ms to execute
it. The store's connections now force the generic plan (`STORE_SERVER_SETTINGS` in pool.py): on
a 400,000-event table single-event appends at 16 connections went from 0.44 to 0.67 of the raw
INSERT (8 interleaved rounds, shared 2-core machine; at 1 connection, where the commit's fsync
dominates, no difference could be told: 0.56 both). The quick suite's paired figure is in the
reference run. So the schema keeps every index and the outbox table; following
`events` by (tx_id, position) instead of an outbox would change the relay for no measured
gain. Also measured and kept: asyncpg's pool sent a reset query (`RESET ALL`, `UNLISTEN *`,
...) on every release, a second round trip per append, now skipped on the store's pools
(`keep_session`); appends without a due snapshot run `APPEND_EVENTS`, ten parameters instead
of fifteen. asyncpg already prepares each statement once per connection; it cannot pipeline
statements on one connection, and an append is one statement anyway.

Most commands append one event to one stream: `APPEND_ONE` sends it as eight scalars, and its
guard is one index probe for the preceding version (none for version 1), where `APPEND_EVENTS`
unnests ten arrays and anti-joins them. Single-event appends at 16 connections went from
4,249-4,404 to 4,788-5,106 events/s (+13 %; four runs of each alternated, 25 rounds each,
`bench/micro/test_append.py`). Against the same-run raw INSERT the ratio did not move: that
ceiling had used `unnest` arrays too, and a raw INSERT of one row with scalars (VALUES) is
faster still (6,864-7,652 -> 8,017-9,106 rows/s), so the ceiling of single rows is now that,
and the ratio stays 0.56-0.61 (it read 0.57-0.63 with both on arrays).

Where the rest goes, step by step (`python -m bench.micro.append_cost`: 12 rounds of 240
single-event appends at 16 connections in a scratch database, each variant right after the
last; two runs on 5 December at 0ada51a). The rounds keep the 2-core machine 85-90 % busy, so
a round's wall time follows the CPU that the client and PostgreSQL spend on it, and the CPU
ratio (raw's over the variant's, both summed; the server's CPU read from the scheduler's
statistics of its own processes) is the steadier figure. Per append:

| step                                   | PostgreSQL CPU | client CPU  | raw / variant: wall, CPU |
|----------------------------------------|----------------|-------------|--------------------------|
| raw INSERT … VALUES (the ceiling)      | 104-105 µs     | 78-82 µs    | 1.00, 1.00               |
| + `events`' 3 indexes and 2 CHECKs     | +29-37 µs      | +2-3 µs     | 0.76-0.81, 0.81-0.85     |
| + the version guard (one index probe)  | +24-32 µs      | +4-5 µs     | 0.74-0.75, 0.72          |
| + the outbox row                       | +13-16 µs      | -1 to +4 µs | 0.68-0.69, 0.68-0.70     |
| + the debounced NOTIFY check           | +16-31 µs      | -2 to +2 µs | 0.59-0.65, 0.62-0.66     |
| + `PostgresEventStore.append`'s Python | -1 to +2 µs    | +6-15 µs    | 0.54-0.64, 0.60-0.63     |

A one-off run of the same method on copies of `events` (24 rounds; not a committed command) put
the two CHECK constraints at 13 µs of PostgreSQL's CPU an append and the three extra indexes
together at 9 µs: PostgreSQL compiles a table's CHECK expressions again at every statement,
which for single rows costs more than their indexes. The
store's Python was +22-28 µs before its pooled connection became a plain class (`Lease`; an
asynccontextmanager's async generator was most of it). What the guarantees cost is what keeps
single-event appends under 0.7 of the raw INSERT: for 0.7 ours may spend 260-267 µs of CPU an
append, and spends 291-315. The version guard and `events`' constraints are the guarantees
themselves; the outbox row and the NOTIFY check together are 29-47 µs, so even following
`events` by (tx_id, position) instead of an outbox, with the relay and its publish stamps
rebuilt around that, would by this arithmetic bring the ratio only to 0.65-0.75.
"""

from __future__ import annotations

_OUTBOX_ROWS = """, outbox_rows AS (
    INSERT INTO outbox (position, aggregate_type, aggregate_id)
    SELECT position, aggregate_type, aggregate_id FROM ins
)"""
_APPEND_EVENTS = """
WITH expected AS (
    SELECT NOT EXISTS (
        SELECT FROM unnest($9::text[], $10::int[]) AS s(aggregate_id, version)
        WHERE NOT EXISTS (
            SELECT FROM events e WHERE e.aggregate_id = s.aggregate_id AND e.version = s.version
        )
    ) AS present
), ins AS (
    INSERT INTO events (aggregate_id, aggregate_type, version, event_type, schema_version, data,
                        metadata, recorded_at)
    SELECT n.*, $7::jsonb, COALESCE($8::timestamptz, clock_timestamp())
    FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::int2[], $6::json[]) AS n
    WHERE (SELECT present FROM expected)
    RETURNING position, aggregate_id, aggregate_type
)"""
_APPEND_ONE = """
WITH ins AS (
    INSERT INTO events (aggregate_id, aggregate_type, version, event_type, schema_version, data,
                        metadata, recorded_at)
    SELECT $1::text, $2::text, $3::int, $4::text, $5::int2, $6::json, $7::jsonb,
           COALESCE($8::timestamptz, clock_timestamp())
    WHERE $3::int = 1 OR EXISTS (
        SELECT FROM events e WHERE e.aggregate_id = $1::text AND e.version = $3::int - 1
    )
    RETURNING position, aggregate_id, aggregate_type
)"""
_APPEND_SNAPSHOTS = """, snapshot_rows AS (
    INSERT INTO snapshots AS s (aggregate_id, aggregate_type, version, schema_version, state)
    SELECT n.* FROM unnest($11::text[], $12::text[], $13::int[], $14::int2[], $15::json[]) AS n
    WHERE EXISTS (SELECT FROM ins)
    ON CONFLICT (aggregate_id) DO UPDATE
    SET aggregate_type = excluded.aggregate_type, version = excluded.version,
        schema_version = excluded.schema_version, state = excluded.state,
        taken_at = excluded.taken_at
    WHERE s.version < excluded.version
)"""
_APPEND_RESULT = """
SELECT p.position
FROM (SELECT max(position) AS position FROM ins) AS p
LEFT JOIN LATERAL (
    SELECT pg_notify('cqrs_outbox', '')
    WHERE p.position IS NOT NULL
      AND NOT EXISTS (
          SELECT FROM (
              SELECT created_at FROM outbox WHERE published_at IS NULL
              ORDER BY position DESC LIMIT 1
          ) AS newest
          WHERE newest.created_at > clock_timestamp() - interval '20 milliseconds'
      )
) AS n ON true
"""


def _key_row(first: int) -> str:
    """The idempotency key's row ($first: key, request hash, status, body before and after the
    position), written only if the events were."""
    key, request_hash, status, before, after = (f"${first + i}" for i in range(5))
    return f""", key_row AS (
    INSERT INTO idempotency_keys (key, request_hash, status, body)
    SELECT {key}, {request_hash}, {status}::int2,
           {before}::bytea || convert_to(max(position)::text, 'UTF8') || {after}::bytea
    FROM ins HAVING count(*) > 0
)"""


APPEND = _APPEND_EVENTS + _OUTBOX_ROWS + _APPEND_SNAPSHOTS + _APPEND_RESULT
"""An append with due snapshots ($11-$15)."""
APPEND_EVENTS = _APPEND_EVENTS + _OUTBOX_ROWS + _APPEND_RESULT
"""An append without snapshots (most commands): ten parameters, no empty `unnest` to plan."""
APPEND_KEYED = _APPEND_EVENTS + _OUTBOX_ROWS + _APPEND_SNAPSHOTS + _key_row(16) + _APPEND_RESULT
"""`APPEND` storing an idempotency key and its answer ($16-$20)."""
APPEND_EVENTS_KEYED = _APPEND_EVENTS + _OUTBOX_ROWS + _key_row(11) + _APPEND_RESULT
"""`APPEND_EVENTS` storing an idempotency key and its answer ($11-$15)."""
APPEND_ONE = _APPEND_ONE + _OUTBOX_ROWS + _APPEND_RESULT
"""One event to one stream, without snapshots (most commands): eight scalar parameters, the
version guard an index probe of the preceding version (none for version 1)."""
APPEND_ONE_KEYED = _APPEND_ONE + _OUTBOX_ROWS + _key_row(9) + _APPEND_RESULT
"""`APPEND_ONE` storing an idempotency key and its answer ($9-$13)."""
