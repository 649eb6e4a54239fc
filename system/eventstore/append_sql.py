"""The append statement of `PostgresEventStore.append`, and why it is built so.

An append is one statement (one round trip, one implicit transaction): it checks that every
stream's expected version exists, inserts all events from `unnest` arrays, writes one outbox
row per event, upserts any due snapshot and, unless an unpublished outbox row younger than 20
ms exists, fires `NOTIFY cqrs_outbox` (see below). UNIQUE(aggregate_id, version) turns a stale
expected version into `ConcurrencyError`; the existence check (an InitPlan run before any row
gets a position or a transaction id) rejects a version that is ahead, so streams stay gap-free,
and a stream's versions get increasing positions and tx ids.

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
fsync on). Dropping one index or the outbox at a time in a scratch database, the variants and a
raw INSERT interleaved round by round (10 rounds each, two runs; median events/s, 95 %
interval, share of that run's raw INSERT on a pool without reset):

| schema                                   | run 1                   | run 2                   |
|------------------------------------------|-------------------------|-------------------------|
| raw INSERT, plain table                  | 4,384 [3,199, 5,612]    | 8,918 [6,254, 10,343]   |
| ours, full schema                        | 1,771 [1,529, 1,967] .40 | 3,991 [3,617, 5,434] .45 |
| - events_tx_position index               | 1,856 [1,460, 2,362] .42 | 3,002 [2,241, 4,250] .34 |
| - event_id UNIQUE                        | 2,228 [1,866, 3,419] .51 | 2,802 [2,273, 3,370] .31 |
| - outbox_unpublished index               | 3,104 [2,715, 3,509] .71 | 2,798 [2,229, 3,171] .31 |
| - outbox row and NOTIFY                  | 2,900 [2,567, 5,003] .66 | 2,885 [2,374, 4,650] .32 |
| - outbox primary key                     | 1,741 [1,481, 2,873] .40 | 2,754 [2,266, 3,559] .31 |
| no outbox, no tx/event_id indexes        | 2,057 [1,710, 2,850] .47 | 2,912 [2,557, 3,452] .33 |

No single index nor the outbox explains the gap: every variant's interval overlaps the full
schema's in at least one run, and even the floor (events with only its primary key and
UNIQUE(aggregate_id, version), no outbox) stays at a third to a half of the raw INSERT. So the
schema keeps every index and the outbox table (following `events` by (tx_id, position) instead
would drop a table the relay owns for no measured gain). What was measurably spent is per
statement and per connection: asyncpg's pool sent a reset query (`RESET ALL`, `UNLISTEN *`,
...) on every release, a second round trip per append, now skipped on the store's pools
(`keep_session`); and appends without a due snapshot run `APPEND_EVENTS`, ten parameters
instead of fifteen. asyncpg already prepares each statement once per connection.
"""

from __future__ import annotations

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
), outbox_rows AS (
    INSERT INTO outbox (position, aggregate_type, aggregate_id)
    SELECT position, aggregate_type, aggregate_id FROM ins
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
APPEND = _APPEND_EVENTS + _APPEND_SNAPSHOTS + _APPEND_RESULT
"""An append with due snapshots ($11-$15)."""
APPEND_EVENTS = _APPEND_EVENTS + _APPEND_RESULT
"""An append without snapshots (most commands): ten parameters, no empty `unnest` to plan."""
