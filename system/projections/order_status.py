"""Order status view: one doc per order with its state, customer name, items and milestones."""

from __future__ import annotations

from system.domain.events import (
    Event,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderPlaced,
    OrderShipped,
)
from system.domain.recorded import Recorded
from system.ports import Doc
from system.projections.base import Projection, copy, timestamp

NAME = "order_status"


def empty(recorded: Recorded[Event]) -> Doc:
    return {
        "order_id": recorded.aggregate_id,
        "customer_id": None,
        "customer_name": None,
        "status": None,
        "total": 0,
        "item_count": 0,
        "items": [],
        "shipping_address": None,
        "tracking_number": None,
        "placed_at": None,
        "confirmed_at": None,
        "shipped_at": None,
        "delivered_at": None,
        "cancelled_at": None,
        "last_updated": None,
    }


def placed(doc: Doc | None, recorded: Recorded[OrderPlaced]) -> Doc:
    at = timestamp(recorded)
    return {
        "order_id": recorded.aggregate_id,
        "customer_id": recorded.event.customer_id,
        "customer_name": recorded.event.customer_name,
        "status": "pending",
        "total": recorded.event.total,
        "item_count": len(recorded.event.items),
        "items": [
            {"product_id": i.product_id, "quantity": i.quantity, "price": i.price}
            for i in recorded.event.items
        ],
        "shipping_address": recorded.event.shipping_address,
        "tracking_number": None,
        "placed_at": at,
        "confirmed_at": None,
        "shipped_at": None,
        "delivered_at": None,
        "cancelled_at": None,
        "last_updated": at,
    }


def _moved(doc: Doc | None, recorded: Recorded[Event], status: str) -> Doc:
    new = copy(doc)
    at = timestamp(recorded)
    new["status"] = status
    new[f"{status}_at"] = at
    new["last_updated"] = at
    return new


def confirmed(doc: Doc | None, recorded: Recorded[OrderConfirmed]) -> Doc:
    return _moved(doc, recorded, "confirmed")


def shipped(doc: Doc | None, recorded: Recorded[OrderShipped]) -> Doc:
    new = _moved(doc, recorded, "shipped")
    new["tracking_number"] = recorded.event.tracking_number
    return new


def delivered(doc: Doc | None, recorded: Recorded[OrderDelivered]) -> Doc:
    return _moved(doc, recorded, "delivered")


def cancelled(doc: Doc | None, recorded: Recorded[OrderCancelled]) -> Doc:
    return _moved(doc, recorded, "cancelled")


PROJECTION = Projection(
    name=NAME,
    aggregate_type="Order",
    folds={
        "OrderPlaced": placed,
        "OrderConfirmed": confirmed,
        "OrderShipped": shipped,
        "OrderDelivered": delivered,
        "OrderCancelled": cancelled,
    },
    empty=empty,
    creators=frozenset({"OrderPlaced"}),
)
