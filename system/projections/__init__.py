"""Projectors: Kafka events folded into Elasticsearch read models, with measured lag.

Each read model is a fold of exactly one stream: doc id = aggregate id, written with external
versioning (version = aggregate version), so a redelivered event changes nothing.

Lag-stamp contract. For every event a projection applies (duplicates excluded), the projector
writes one document to the plain index `<prefix>-lag-stamps`, id `<projection>:<event_id>`
(created once: a redelivery never overwrites it), after the read-model write became searchable:

- `projection`, `position`, `aggregate_type`, `event_type`
- `recorded_at`: the event's `recorded_at` in Postgres (insert time, just before commit)
- `published_at`: when the relay sent it to Kafka (message header)
- `consumed_at`: when the projector received the batch holding it
- `indexed_at`: when Elasticsearch acknowledged the bulk write holding its doc
- `searchable_at`: when the refresh that followed (or the `wait_for` bulk) returned

All are epoch seconds (float, one clock: everything runs on one machine). Stages are the
differences: relay = published - recorded, kafka = consumed - published, index = indexed -
consumed, refresh = searchable - indexed, end_to_end = searchable - recorded; the same values
feed the histogram `cqrs_projection_lag_seconds{projection,stage}`. Stamps are written in
the background after the checkpoint moves; `ProjectorRunner` flushes them before it exits.
"""

from __future__ import annotations

from system.projections import (
    account_balance,
    customer_orders,
    inventory,
    order_status,
    revenue,
)
from system.projections.base import Doc, Projection

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
