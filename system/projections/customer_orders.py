"""Customer order history: one doc per order, queried by customer id, newest first."""

from __future__ import annotations

from system.domain.events import Event, OrderPlaced
from system.domain.recorded import Recorded
from system.ports import Doc
from system.projections.base import Fold, Projection, copy, timestamp

NAME = "customer_orders"


def empty(recorded: Recorded[Event]) -> Doc:
    return {
        "order_id": recorded.aggregate_id,
        "customer_id": None,
        "customer_name": None,
        "status": None,
        "total": 0,
        "placed_at": None,
    }


def placed(doc: Doc | None, recorded: Recorded[OrderPlaced]) -> Doc:
    return {
        "order_id": recorded.aggregate_id,
        "customer_id": recorded.event.customer_id,
        "customer_name": recorded.event.customer_name,
        "status": "pending",
        "total": recorded.event.total,
        "placed_at": timestamp(recorded),
    }


def _status(status: str) -> Fold:
    def fold(doc: Doc | None, recorded: Recorded[Event]) -> Doc:
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
