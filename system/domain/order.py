"""Order: a state machine pending → confirmed → shipped → delivered, cancellable before shipping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import ClassVar

import msgspec

from system.domain.aggregate import Aggregate, Evolver, require_positive, require_text
from system.domain.errors import AlreadyExists, IllegalTransition, InvalidValue
from system.domain.events import (
    Event,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderItem,
    OrderPlaced,
    OrderShipped,
)

MAX_ITEMS = 100
MAX_QUANTITY = 10_000


class OrderStatus(StrEnum):
    NEW = "new"
    PENDING = "pending"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


ALLOWED: dict[str, frozenset[OrderStatus]] = {
    "place": frozenset({OrderStatus.NEW}),
    "confirm": frozenset({OrderStatus.PENDING}),
    "ship": frozenset({OrderStatus.CONFIRMED}),
    "deliver": frozenset({OrderStatus.SHIPPED}),
    "cancel": frozenset({OrderStatus.PENDING, OrderStatus.CONFIRMED}),
}


class OrderState(msgspec.Struct, kw_only=True):
    status: OrderStatus = OrderStatus.NEW
    customer_id: str = ""
    items: tuple[OrderItem, ...] = ()
    total: int = 0
    tracking_number: str = ""


def _placed(s: OrderState, e: OrderPlaced) -> None:
    s.status, s.customer_id, s.items, s.total = OrderStatus.PENDING, e.customer_id, e.items, e.total


def _confirmed(s: OrderState, e: OrderConfirmed) -> None:
    s.status = OrderStatus.CONFIRMED


def _shipped(s: OrderState, e: OrderShipped) -> None:
    s.status, s.tracking_number = OrderStatus.SHIPPED, e.tracking_number


def _delivered(s: OrderState, e: OrderDelivered) -> None:
    s.status = OrderStatus.DELIVERED


def _cancelled(s: OrderState, e: OrderCancelled) -> None:
    s.status = OrderStatus.CANCELLED


class Order(Aggregate[OrderState]):
    """An order whose lifecycle rejects every transition the state machine does not allow."""

    aggregate_type = "Order"
    state_type = OrderState
    evolvers: ClassVar[Mapping[type[Event], Evolver]] = {
        OrderPlaced: _placed,
        OrderConfirmed: _confirmed,
        OrderShipped: _shipped,
        OrderDelivered: _delivered,
        OrderCancelled: _cancelled,
    }

    def initial_state(self) -> OrderState:
        return OrderState()

    def _transition(self, action: str) -> None:
        if self.state.status not in ALLOWED[action]:
            if action == "place":
                raise AlreadyExists(f"order {self.id!r} is already placed")
            raise IllegalTransition(f"cannot {action} an order that is {self.state.status.value}")

    def place(
        self,
        customer_id: str,
        customer_name: str,
        items: Sequence[OrderItem],
        shipping_address: str,
    ) -> list[Event]:
        self._transition("place")
        if not items:
            raise InvalidValue("an order needs at least one item", "items")
        if len(items) > MAX_ITEMS:
            raise InvalidValue(f"an order holds at most {MAX_ITEMS} items", "items")
        seen: set[str] = set()
        for index, item in enumerate(items):
            require_positive(item.quantity, f"items[{index}].quantity", MAX_QUANTITY)
            require_positive(item.price, f"items[{index}].price")
            if item.product_id in seen:
                raise InvalidValue(
                    f"product {item.product_id!r} appears twice; merge the quantities",
                    f"items[{index}].product_id",
                )
            seen.add(item.product_id)
        return [
            OrderPlaced(
                customer_id=customer_id,
                customer_name=customer_name,
                items=tuple(items),
                shipping_address=require_text(shipping_address, "shipping_address"),
                total=sum(item.price * item.quantity for item in items),
            )
        ]

    def confirm(self) -> list[Event]:
        self._transition("confirm")
        return [OrderConfirmed()]

    def ship(self, tracking_number: str) -> list[Event]:
        self._transition("ship")
        return [OrderShipped(tracking_number=require_text(tracking_number, "tracking_number", 100))]

    def deliver(self) -> list[Event]:
        self._transition("deliver")
        return [OrderDelivered(items=self.state.items)]

    def cancel(self, reason: str) -> list[Event]:
        self._transition("cancel")
        return [OrderCancelled(reason=require_text(reason, "reason"), items=self.state.items)]
