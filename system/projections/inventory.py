"""Inventory view: per product, units received, reserved, sold and still available."""

from __future__ import annotations

from system.domain.events import (
    Event,
    ProductAdded,
    StockReceived,
    StockReleased,
    StockReserved,
    StockSold,
)
from system.domain.recorded import Recorded
from system.ports import Doc
from system.projections.base import Projection, copy, timestamp

NAME = "inventory"


def empty(recorded: Recorded[Event]) -> Doc:
    return {
        "product_id": recorded.aggregate_id,
        "name": None,
        "price": 0,
        "on_hand": 0,
        "reserved": 0,
        "sold": 0,
        "remaining": 0,
        "last_updated": None,
    }


def added(doc: Doc | None, recorded: Recorded[ProductAdded]) -> Doc:
    return {
        "product_id": recorded.aggregate_id,
        "name": recorded.event.name,
        "price": recorded.event.price,
        "on_hand": recorded.event.stock,
        "reserved": 0,
        "sold": 0,
        "remaining": recorded.event.stock,
        "last_updated": timestamp(recorded),
    }


def _adjust(
    doc: Doc | None,
    recorded: Recorded[Event],
    *,
    on_hand: int = 0,
    reserved: int = 0,
    sold: int = 0,
) -> Doc:
    new = copy(doc)
    new["on_hand"] += on_hand
    new["reserved"] += reserved
    new["sold"] += sold
    new["remaining"] = new["on_hand"] - new["reserved"] - new["sold"]
    new["last_updated"] = timestamp(recorded)
    return new


def received(doc: Doc | None, recorded: Recorded[StockReceived]) -> Doc:
    return _adjust(doc, recorded, on_hand=recorded.event.quantity)


def reserved(doc: Doc | None, recorded: Recorded[StockReserved]) -> Doc:
    return _adjust(doc, recorded, reserved=recorded.event.quantity)


def released(doc: Doc | None, recorded: Recorded[StockReleased]) -> Doc:
    return _adjust(doc, recorded, reserved=-recorded.event.quantity)


def sold(doc: Doc | None, recorded: Recorded[StockSold]) -> Doc:
    return _adjust(doc, recorded, reserved=-recorded.event.quantity, sold=recorded.event.quantity)


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
