"""Revenue dashboard source: one doc per order (day, total, counted); queries sum per day."""

from __future__ import annotations

from system.bus.envelope import Envelope
from system.domain.events import OrderCancelled, OrderPlaced
from system.projections.base import Doc, Projection, copy

NAME = "revenue"


def empty(env: Envelope) -> Doc:
    return {"order_id": env.aggregate_id, "day": None, "total": 0, "counted": False}


def placed(doc: Doc | None, env: Envelope, event: OrderPlaced) -> Doc:
    return {
        "order_id": env.aggregate_id,
        "day": env.recorded_at.date().isoformat(),
        "total": event.total,
        "counted": True,
    }


def cancelled(doc: Doc | None, env: Envelope, event: OrderCancelled) -> Doc:
    new = copy(doc)
    new["counted"] = False
    return new


PROJECTION = Projection(
    name=NAME,
    aggregate_type="Order",
    folds={"OrderPlaced": placed, "OrderCancelled": cancelled},
    empty=empty,
    creators=frozenset({"OrderPlaced"}),
)
