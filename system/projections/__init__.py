"""Projectors: Kafka events folded into Elasticsearch read models, with measured lag.

Each read model is a fold of exactly one stream: doc id = aggregate id, written with external
versioning (version = aggregate version), so a redelivered event changes nothing.

Lag-stamp contract. Every event is timed at five instants, each taken by whoever sees it:

- origin: `committed_at`, the commit time of the event's transaction from PostgreSQL
  (`pg_xact_commit_timestamp(xmin)`, read by the relay when it claims the row and carried in
  the Kafka header `committed_at`). On a server without `track_commit_timestamp` it is null;
  the relay then sends `observed_at`, the time it claimed the row, and every figure from it
  says so (`origin: observed`): the wait between commit and claim is then not counted.
- `acked_at`: when Kafka acknowledged the message to the relay (delivery callback). A header
  cannot change after producing, so the relay records it in the outbox row (`published_at`)
  and the lag report joins it by position (`bench/lag/stamps.py`). Chosen over stamping before
  producing, which counted the produce and its acks as Kafka delivery.
- `consumed_at`: when the projector first received the batch holding it (a batch applied
  again after an error keeps its first time).
- `indexed_at`: when Elasticsearch acknowledged the bulk write holding its doc.
- `searchable_at`: when the refresh that followed (or the `wait_for` bulk) returned. With
  `CQRS_PROJECTION_REFRESH=immediate` the bulk itself refreshes, so `searchable_at` equals
  `indexed_at`: the index stage then holds the refresh and the refresh stage is 0.

Stages: relay = acked - origin, kafka = consumed - acked, index = indexed - consumed,
refresh = searchable - indexed, end_to_end = searchable - origin. All are epoch seconds on one
machine's clock (PostgreSQL's and ours). A negative stage is a clock anomaly, or, for kafka,
a consumer that saw the message before the producer heard its ack: the report counts them per
stage (`clock_anomalies`) and enters them as 0 in the percentiles (results.json holds no
negative durations), so the count is where they show.

Where they are kept (the observer effect): per applied batch (duplicates excluded), a
projector writes one record to `<prefix>-lag-batches`: the batch's consumed/indexed/searchable
times once, and per event only its position, origin and whether the origin was observed, in
an object Elasticsearch stores but does not index. That keeps exact per-event percentiles at
one unindexed document per batch, instead of one indexed document per event and projection
(which roughly doubled the read side's indexing). `CQRS_LAG_STAMPS=off` turns the records off;
the projector's histogram `cqrs_projection_lag_seconds{projection,stage}` (stages delivery =
consumed - origin, index, refresh, end_to_end) and the relay's `cqrs_relay_lag_seconds`
(acked - origin) are always kept, and the report falls back to them (bucketed, approximate).
Records are written in the background after the checkpoint moves; `ProjectorRunner` flushes
them before it exits.
"""

from __future__ import annotations

from system.ports import Doc
from system.projections import (
    account_balance,
    customer_orders,
    inventory,
    order_status,
    revenue,
)
from system.projections.base import Projection

PROJECTIONS: dict[str, Projection] = {
    p.name: p
    for p in (
        order_status.PROJECTION,
        customer_orders.PROJECTION,
        inventory.PROJECTION,
        revenue.PROJECTION,
        account_balance.PROJECTION,
    )
}
"""Every read model by name."""

__all__ = ["PROJECTIONS", "Doc", "Projection"]
