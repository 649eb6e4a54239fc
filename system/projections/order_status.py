"""Order status view: one doc per order with its state, customer name, items and milestones."""

from __future__ import annotations

from system.bus.envelope import Envelope
from system.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderPlaced,
    OrderShipped,
)
from system.projections.base import Doc, Projection, copy, timestamp

NAME = "order_status"


def empty(env: Envelope) -> Doc:
    return {
        "order_id": env.aggregate_id,
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


def placed(doc: Doc | None, env: Envelope, event: OrderPlaced) -> Doc:
    at = timestamp(env)
    return {
        "order_id": env.aggregate_id,
        "customer_id": event.customer_id,
        "customer_name": event.customer_name,
        "status": "pending",
        "total": event.total,
        "item_count": len(event.items),
        "items": [
            {"product_id": i.product_id, "quantity": i.quantity, "price": i.price}
            for i in event.items
        ],
        "shipping_address": event.shipping_address,
        "tracking_number": None,
        "placed_at": at,
        "confirmed_at": None,
        "shipped_at": None,
        "delivered_at": None,
        "cancelled_at": None,
        "last_updated": at,
    }


def _moved(doc: Doc | None, env: Envelope, status: str) -> Doc:
    new = copy(doc)
    at = timestamp(env)
    new["status"] = status
    new[f"{status}_at"] = at
    new["last_updated"] = at
    return new


def confirmed(doc: Doc | None, env: Envelope, event: OrderConfirmed) -> Doc:
    return _moved(doc, env, "confirmed")


def shipped(doc: Doc | None, env: Envelope, event: OrderShipped) -> Doc:
    new = _moved(doc, env, "shipped")
    new["tracking_number"] = event.tracking_number
    return new


def delivered(doc: Doc | None, env: Envelope, event: OrderDelivered) -> Doc:
    return _moved(doc, env, "delivered")


def cancelled(doc: Doc | None, env: Envelope, event: OrderCancelled) -> Doc:
    return _moved(doc, env, "cancelled")


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
