"""Reference data with their own streams: customers and products (with stock)."""

from __future__ import annotations

import msgspec

from system.domain.aggregate import Aggregate, require_positive, require_text
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


class Customer(Aggregate[CustomerState]):
    """A customer whose name the order read models carry."""

    aggregate_type = "Customer"
    state_type = CustomerState

    def initial_state(self) -> CustomerState:
        return CustomerState()

    def evolve(self, event: Event) -> None:
        match event:
            case CustomerRegistered(name=name, email=email):
                self.state.name = name
                self.state.email = email
            case _:
                raise TypeError(f"Customer cannot apply {type(event).__name__}")

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


class Product(Aggregate[ProductState]):
    """A product whose stock can be reserved by orders but never goes below zero."""

    aggregate_type = "Product"
    state_type = ProductState

    def initial_state(self) -> ProductState:
        return ProductState()

    def evolve(self, event: Event) -> None:
        s = self.state
        match event:
            case StockReserved(order_id=order_id, quantity=quantity):
                s.stock -= quantity
                s.reservations[order_id] = quantity
            case StockReleased(order_id=order_id, quantity=quantity):
                s.stock += quantity
                s.reservations.pop(order_id, None)
            case StockSold(order_id=order_id, quantity=quantity):
                s.reservations.pop(order_id, None)
                s.sold += quantity
            case StockReceived(quantity=quantity):
                s.stock += quantity
            case ProductAdded(name=name, price=price, stock=stock):
                s.name, s.price, s.stock = name, price, stock
            case _:
                raise TypeError(f"Product cannot apply {type(event).__name__}")

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
