"""The pure domain: events, aggregates, commands, errors. Imports nothing else of ours."""

from __future__ import annotations

from system.domain.account import BankAccount
from system.domain.aggregate import Aggregate
from system.domain.order import Order
from system.domain.reference import Customer, Product

AGGREGATES: dict[str, type[Aggregate]] = {  # type: ignore[type-arg]
    cls.aggregate_type: cls for cls in (BankAccount, Order, Customer, Product)
}

__all__ = ["AGGREGATES", "Aggregate", "BankAccount", "Customer", "Order", "Product"]
