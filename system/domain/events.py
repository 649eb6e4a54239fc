"""Domain events: past-tense, immutable, versioned. Money is integer minor units."""

from __future__ import annotations

from typing import ClassVar, get_args

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="event_type", tag=True):
    """Base of every domain event; `schema_version` bumps when the payload shape changes.

    Tagged with its type name, which a stored payload carries too (`codec.encode_event`), so
    that a whole stream decodes as one union in one call (`codec.decode_stream`).
    """

    aggregate_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__


# BankAccount


class AccountOpened(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "BankAccount"
    owner_id: str


class MoneyDeposited(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "BankAccount"
    amount: int


class MoneyWithdrawn(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "BankAccount"
    amount: int


class WithdrawalReversed(Event, frozen=True, kw_only=True):
    """Compensating event: gives back the amount of the withdrawal at `withdrawal_version`."""

    aggregate_type: ClassVar[str] = "BankAccount"
    withdrawal_version: int
    amount: int


class AccountClosed(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "BankAccount"


# Reference data


class CustomerRegistered(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "Customer"
    name: str
    email: str


class ProductAdded(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "Product"
    name: str
    price: int
    stock: int


class StockReceived(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "Product"
    quantity: int


class StockReserved(Event, frozen=True, kw_only=True):
    """Stock set aside for an order, in the same transaction as the order's placement."""

    aggregate_type: ClassVar[str] = "Product"
    order_id: str
    quantity: int


class StockReleased(Event, frozen=True, kw_only=True):
    """Reserved stock given back because its order was cancelled."""

    aggregate_type: ClassVar[str] = "Product"
    order_id: str
    quantity: int


class StockSold(Event, frozen=True, kw_only=True):
    """Reserved stock that left with a delivered order."""

    aggregate_type: ClassVar[str] = "Product"
    order_id: str
    quantity: int


# Order


class OrderItem(msgspec.Struct, frozen=True, kw_only=True):
    product_id: str
    quantity: int
    price: int


class OrderPlaced(Event, frozen=True, kw_only=True):
    """Carries the customer's name so read models need no lookup (as in the seed)."""

    aggregate_type: ClassVar[str] = "Order"
    customer_id: str
    customer_name: str
    items: tuple[OrderItem, ...]
    shipping_address: str
    total: int


class OrderConfirmed(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "Order"


class OrderShipped(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "Order"
    tracking_number: str


class OrderDelivered(Event, frozen=True, kw_only=True):
    """Carries the items so the inventory view can move them from reserved to sold."""

    aggregate_type: ClassVar[str] = "Order"
    items: tuple[OrderItem, ...]


class OrderCancelled(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "Order"
    reason: str
    items: tuple[OrderItem, ...]


AnyEvent = (
    AccountOpened
    | MoneyDeposited
    | MoneyWithdrawn
    | WithdrawalReversed
    | AccountClosed
    | CustomerRegistered
    | ProductAdded
    | StockReceived
    | StockReserved
    | StockReleased
    | StockSold
    | OrderPlaced
    | OrderConfirmed
    | OrderShipped
    | OrderDelivered
    | OrderCancelled
)
"""Every event type, as the union a stream of tagged payloads decodes to."""

EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in get_args(AnyEvent)}
