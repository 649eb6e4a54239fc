"""Commands: imperative requests; `expected_version` (from If-Match) makes OCC explicit."""

from __future__ import annotations

import msgspec

from system.domain.events import OrderItem


class Command(msgspec.Struct, frozen=True, kw_only=True):
    expected_version: int | None = None


class OpenAccount(Command, frozen=True, kw_only=True):
    account_id: str
    owner_id: str


class Deposit(Command, frozen=True, kw_only=True):
    account_id: str
    amount: int


class Withdraw(Command, frozen=True, kw_only=True):
    account_id: str
    amount: int


class ReverseWithdrawal(Command, frozen=True, kw_only=True):
    account_id: str
    withdrawal_version: int


class CloseAccount(Command, frozen=True, kw_only=True):
    account_id: str


class RegisterCustomer(Command, frozen=True, kw_only=True):
    customer_id: str
    name: str
    email: str


class AddProduct(Command, frozen=True, kw_only=True):
    product_id: str
    name: str
    price: int
    stock: int


class ReceiveStock(Command, frozen=True, kw_only=True):
    product_id: str
    quantity: int


class PlaceOrder(Command, frozen=True, kw_only=True):
    order_id: str
    customer_id: str
    items: tuple[OrderItem, ...]
    shipping_address: str


class ConfirmOrder(Command, frozen=True, kw_only=True):
    order_id: str


class ShipOrder(Command, frozen=True, kw_only=True):
    order_id: str
    tracking_number: str


class DeliverOrder(Command, frozen=True, kw_only=True):
    order_id: str


class CancelOrder(Command, frozen=True, kw_only=True):
    order_id: str
    reason: str
