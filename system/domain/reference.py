"""Reference data with their own streams: customers and products (with stock)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import msgspec

from system.domain.aggregate import Aggregate, Evolver, require_positive, require_text
from system.domain.errors import AlreadyExists, InsufficientStock, InvalidValue, NotFound
from system.domain.events import (
    CustomerRegistered,
    Event,
    ProductAdded,
    StockReceived,
    StockReleased,
    StockReserved,
    StockSold,
)

MAX_STOCK = 10**9


class CustomerState(msgspec.Struct, kw_only=True):
    name: str = ""
    email: str = ""


def _registered(s: CustomerState, e: CustomerRegistered) -> None:
    s.name = e.name
    s.email = e.email


class Customer(Aggregate[CustomerState]):
    """A customer whose name the order read models carry."""

    aggregate_type = "Customer"
    state_type = CustomerState
    evolvers: ClassVar[Mapping[type[Event], Evolver]] = {CustomerRegistered: _registered}

    def initial_state(self) -> CustomerState:
        return CustomerState()

    def register(self, name: str, email: str) -> list[Event]:
        if self.exists:
            raise AlreadyExists(f"customer {self.id!r} is already registered")
        clean_email = require_text(email, "email", 254)
        local, at, domain = clean_email.partition("@")
        if not at or not local or "." not in domain:
            raise InvalidValue(f"email {clean_email!r} is not an e-mail address", "email")
        return [CustomerRegistered(name=require_text(name, "name", 200), email=clean_email)]


class ProductState(msgspec.Struct, kw_only=True):
    name: str = ""
    price: int = 0
    stock: int = 0
    """Units on hand and not reserved by an open order."""
    sold: int = 0
    reservations: dict[str, int] = msgspec.field(default_factory=dict)


def _added(s: ProductState, e: ProductAdded) -> None:
    s.name, s.price, s.stock = e.name, e.price, e.stock


def _received(s: ProductState, e: StockReceived) -> None:
    s.stock += e.quantity


def _reserved(s: ProductState, e: StockReserved) -> None:
    s.stock -= e.quantity
    s.reservations[e.order_id] = e.quantity


def _released(s: ProductState, e: StockReleased) -> None:
    s.stock += e.quantity
    s.reservations.pop(e.order_id, None)


def _sold(s: ProductState, e: StockSold) -> None:
    s.reservations.pop(e.order_id, None)
    s.sold += e.quantity


class Product(Aggregate[ProductState]):
    """A product whose stock can be reserved by orders but never goes below zero."""

    aggregate_type = "Product"
    state_type = ProductState
    evolvers: ClassVar[Mapping[type[Event], Evolver]] = {
        ProductAdded: _added,
        StockReceived: _received,
        StockReserved: _reserved,
        StockReleased: _released,
        StockSold: _sold,
    }

    def initial_state(self) -> ProductState:
        return ProductState()

    def _require_exists(self) -> None:
        if not self.exists:
            raise NotFound("Product", self.id)

    def add(self, name: str, price: int, stock: int) -> list[Event]:
        if self.exists:
            raise AlreadyExists(f"product {self.id!r} already exists")
        require_positive(price, "price")
        if isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= MAX_STOCK:
            raise InvalidValue(f"stock must be an integer from 0 to {MAX_STOCK}", "stock")
        return [ProductAdded(name=require_text(name, "name", 200), price=price, stock=stock)]

    def receive(self, quantity: int) -> list[Event]:
        require_positive(quantity, "quantity", MAX_STOCK)
        self._require_exists()
        return [StockReceived(quantity=quantity)]

    def reserve(self, order_id: str, quantity: int) -> list[Event]:
        self._require_exists()
        if quantity > self.state.stock:
            raise InsufficientStock(
                f"product {self.id!r} has {self.state.stock} in stock, {quantity} requested",
                "items",
            )
        return [StockReserved(order_id=order_id, quantity=quantity)]

    def sell(self, order_id: str) -> list[Event]:
        """Turn the order's reservation into a sale (on delivery)."""
        quantity = self.state.reservations.get(order_id)
        if quantity is None:
            return []
        return [StockSold(order_id=order_id, quantity=quantity)]

    def release(self, order_id: str) -> list[Event]:
        quantity = self.state.reservations.get(order_id)
        if quantity is None:
            return []
        return [StockReleased(order_id=order_id, quantity=quantity)]
