"""Reference models: each read model as a plain fold over a stream's decoded events.

They are the audit's oracle, written apart from `system/projections` (this package never
imports it; a unit test enforces that), so a wrong fold in a projection cannot also be the
yardstick it is judged by. Each model returns the fields its read model's documents hold,
from the stream's events in version order; the audit adds `version` and `position`.

Timestamps are the events' `recorded_at` instants (datetimes) and the revenue day is a date:
the comparison with a live document parses its ISO-8601 strings, so only the instant counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from system.domain.codec import decode_event
from system.domain.events import (
    AccountClosed,
    AccountOpened,
    Event,
    MoneyDeposited,
    MoneyWithdrawn,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderPlaced,
    OrderShipped,
    ProductAdded,
    StockReceived,
    StockReleased,
    StockReserved,
    StockSold,
    WithdrawalReversed,
)
from system.domain.recorded import RecordedEvent

Fields = dict[str, Any]
Decoded = tuple[RecordedEvent, Event]
"""One stored event beside its decoded payload."""


@dataclass(frozen=True)
class ReferenceModel:
    """A read model's expected content: one document per stream of `aggregate_type`."""

    name: str
    aggregate_type: str
    fold: Callable[[str, Sequence[Decoded]], Fields]
    order_fields: tuple[str, ...]
    """Fields that whichever event came last decides: out-of-order application shows here."""


def decode(events: Sequence[RecordedEvent]) -> list[Decoded]:
    """A stream's events with their payloads decoded (`system.domain.codec`)."""
    return [(e, decode_event(e.event_type, e.data)) for e in events]


def account_balance(account_id: str, events: Sequence[Decoded]) -> Fields:
    owner_id: str | None = None
    status = "open"
    balance = deposits = withdrawals = reversals = 0
    opened_at: datetime | None = None
    last_updated: datetime | None = None
    for recorded, event in events:
        at = recorded.recorded_at
        match event:
            case AccountOpened():
                owner_id, status, opened_at = event.owner_id, "open", at
                balance = deposits = withdrawals = reversals = 0
            case MoneyDeposited():
                balance += event.amount
                deposits += 1
            case MoneyWithdrawn():
                balance -= event.amount
                withdrawals += 1
            case WithdrawalReversed():
                balance += event.amount
                reversals += 1
            case AccountClosed():
                status = "closed"
            case _:
                continue
        last_updated = at
    return {
        "account_id": account_id,
        "owner_id": owner_id,
        "balance": balance,
        "status": status,
        "deposits": deposits,
        "withdrawals": withdrawals,
        "reversals": reversals,
        "opened_at": opened_at,
        "last_updated": last_updated,
    }


ORDER_MILESTONES: dict[type[Event], str] = {
    OrderConfirmed: "confirmed",
    OrderShipped: "shipped",
    OrderDelivered: "delivered",
    OrderCancelled: "cancelled",
}
"""Lifecycle events after placement and the status each one leaves the order in."""


def order_status(order_id: str, events: Sequence[Decoded]) -> Fields:
    doc: Fields = {
        "order_id": order_id,
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
    for recorded, event in events:
        at = recorded.recorded_at
        if isinstance(event, OrderPlaced):
            doc.update(
                customer_id=event.customer_id,
                customer_name=event.customer_name,
                status="pending",
                total=event.total,
                item_count=len(event.items),
                items=[
                    {"product_id": i.product_id, "quantity": i.quantity, "price": i.price}
                    for i in event.items
                ],
                shipping_address=event.shipping_address,
                tracking_number=None,
                placed_at=at,
                confirmed_at=None,
                shipped_at=None,
                delivered_at=None,
                cancelled_at=None,
            )
        elif type(event) in ORDER_MILESTONES:
            status = ORDER_MILESTONES[type(event)]
            doc["status"] = status
            doc[f"{status}_at"] = at
            if isinstance(event, OrderShipped):
                doc["tracking_number"] = event.tracking_number
        else:
            continue
        doc["last_updated"] = at
    return doc


def customer_orders(order_id: str, events: Sequence[Decoded]) -> Fields:
    doc: Fields = {
        "order_id": order_id,
        "customer_id": None,
        "customer_name": None,
        "status": None,
        "total": 0,
        "placed_at": None,
    }
    for recorded, event in events:
        if isinstance(event, OrderPlaced):
            doc.update(
                customer_id=event.customer_id,
                customer_name=event.customer_name,
                status="pending",
                total=event.total,
                placed_at=recorded.recorded_at,
            )
        elif type(event) in ORDER_MILESTONES:
            doc["status"] = ORDER_MILESTONES[type(event)]
    return doc


def revenue(order_id: str, events: Sequence[Decoded]) -> Fields:
    """An order counts towards its placement day's revenue unless it was cancelled after."""
    day: date | None = None
    total = 0
    counted = False
    for recorded, event in events:
        if isinstance(event, OrderPlaced):
            day = recorded.recorded_at.astimezone(UTC).date()
            total = event.total
            counted = True
        elif isinstance(event, OrderCancelled):
            counted = False
    return {"order_id": order_id, "day": day, "total": total, "counted": counted}


def inventory(product_id: str, events: Sequence[Decoded]) -> Fields:
    """Units received (`on_hand`), reserved by open orders, sold; remaining is what is left."""
    name: str | None = None
    price = on_hand = reserved = sold = 0
    last_updated: datetime | None = None
    for recorded, event in events:
        match event:
            case ProductAdded():
                name, price, on_hand, reserved, sold = event.name, event.price, event.stock, 0, 0
            case StockReceived():
                on_hand += event.quantity
            case StockReserved():
                reserved += event.quantity
            case StockReleased():
                reserved -= event.quantity
            case StockSold():
                reserved -= event.quantity
                sold += event.quantity
            case _:
                continue
        last_updated = recorded.recorded_at
    return {
        "product_id": product_id,
        "name": name,
        "price": price,
        "on_hand": on_hand,
        "reserved": reserved,
        "sold": sold,
        "remaining": on_hand - reserved - sold,
        "last_updated": last_updated,
    }


REFERENCE_MODELS: dict[str, ReferenceModel] = {
    m.name: m
    for m in (
        ReferenceModel("order_status", "Order", order_status, ("status", "last_updated")),
        ReferenceModel("customer_orders", "Order", customer_orders, ("status",)),
        ReferenceModel("inventory", "Product", inventory, ("last_updated",)),
        ReferenceModel("revenue", "Order", revenue, ("counted",)),
        ReferenceModel(
            "account_balance", "BankAccount", account_balance, ("status", "last_updated")
        ),
    )
}
"""Every read model the audit checks, by the projection name its index is called after."""


def expected_doc(model: ReferenceModel, aggregate_id: str, events: Sequence[Decoded]) -> Fields:
    """The document the read model must hold after `events` (a non-empty stream prefix):
    the fold, at the last event's version and at the highest position among them."""
    return {
        **model.fold(aggregate_id, events),
        "version": events[-1][0].version,
        "position": max(recorded.position for recorded, _ in events),
    }


def same(expected: Any, live: Any) -> bool:
    """Whether a live document's value is the reference value (timestamps as instants)."""
    if isinstance(expected, datetime):
        try:
            return isinstance(live, str) and datetime.fromisoformat(live) == expected
        except ValueError:
            return False
    if isinstance(expected, date):
        return bool(live == expected.isoformat())
    if isinstance(expected, bool) or isinstance(live, bool):
        return type(expected) is type(live) and expected == live
    return bool(expected == live)


def differences(expected: Fields, live: Fields, fields: Sequence[str] | None = None) -> list[str]:
    """The fields (all of `expected`'s, or those given) whose live value is not the expected one.
    Fields the reference does not define (e.g. in-band lag stamps) are never compared."""
    return [
        f
        for f in (fields if fields is not None else expected)
        if not same(expected[f], live.get(f))
    ]


def shown(value: Any) -> str:
    """A value as a detail line names it (timestamps in ISO-8601)."""
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)
