"""Inventory view: per product, units received, reserved, sold and still available."""

from __future__ import annotations

from system.bus.envelope import Envelope
from system.domain.events import (
    ProductAdded,
    StockReceived,
    StockReleased,
    StockReserved,
    StockSold,
)
from system.projections.base import Doc, Projection, copy, timestamp

NAME = "inventory"


def empty(env: Envelope) -> Doc:
    return {
        "product_id": env.aggregate_id,
        "name": None,
        "price": 0,
        "on_hand": 0,
        "reserved": 0,
        "sold": 0,
        "remaining": 0,
        "last_updated": None,
    }


def added(doc: Doc | None, env: Envelope, event: ProductAdded) -> Doc:
    return {
        "product_id": env.aggregate_id,
        "name": event.name,
        "price": event.price,
        "on_hand": event.stock,
        "reserved": 0,
        "sold": 0,
        "remaining": event.stock,
        "last_updated": timestamp(env),
    }


def _adjust(
    doc: Doc | None, env: Envelope, *, on_hand: int = 0, reserved: int = 0, sold: int = 0
) -> Doc:
    new = copy(doc)
    new["on_hand"] += on_hand
    new["reserved"] += reserved
    new["sold"] += sold
    new["remaining"] = new["on_hand"] - new["reserved"] - new["sold"]
    new["last_updated"] = timestamp(env)
    return new


def received(doc: Doc | None, env: Envelope, event: StockReceived) -> Doc:
    return _adjust(doc, env, on_hand=event.quantity)


def reserved(doc: Doc | None, env: Envelope, event: StockReserved) -> Doc:
    return _adjust(doc, env, reserved=event.quantity)


def released(doc: Doc | None, env: Envelope, event: StockReleased) -> Doc:
    return _adjust(doc, env, reserved=-event.quantity)


def sold(doc: Doc | None, env: Envelope, event: StockSold) -> Doc:
    return _adjust(doc, env, reserved=-event.quantity, sold=event.quantity)


PROJECTION = Projection(
    name=NAME,
    aggregate_type="Product",
    folds={
        "ProductAdded": added,
        "StockReceived": received,
        "StockReserved": reserved,
        "StockReleased": released,
        "StockSold": sold,
    },
    empty=empty,
    creators=frozenset({"ProductAdded"}),
)
