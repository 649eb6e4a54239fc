"""Customer order history: one doc per order, queried by customer id, newest first."""

from __future__ import annotations

from system.bus.envelope import Envelope
from system.domain.events import OrderPlaced
from system.projections.base import Doc, Fold, Projection, copy, timestamp

NAME = "customer_orders"


def empty(env: Envelope) -> Doc:
    return {
        "order_id": env.aggregate_id,
        "customer_id": None,
        "customer_name": None,
        "status": None,
        "total": 0,
        "placed_at": None,
    }


def placed(doc: Doc | None, env: Envelope, event: OrderPlaced) -> Doc:
    return {
        "order_id": env.aggregate_id,
        "customer_id": event.customer_id,
        "customer_name": event.customer_name,
        "status": "pending",
        "total": event.total,
        "placed_at": timestamp(env),
    }


def _status(status: str) -> Fold:
    def fold(doc: Doc | None, env: Envelope, event: object) -> Doc:
        new = copy(doc)
        new["status"] = status
        return new

    return fold


PROJECTION = Projection(
    name=NAME,
    aggregate_type="Order",
    folds={
        "OrderPlaced": placed,
        "OrderConfirmed": _status("confirmed"),
        "OrderShipped": _status("shipped"),
        "OrderDelivered": _status("delivered"),
        "OrderCancelled": _status("cancelled"),
    },
    empty=empty,
    creators=frozenset({"OrderPlaced"}),
)
