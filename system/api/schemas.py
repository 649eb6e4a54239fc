"""Request and response bodies: strict, closed (unknown fields rejected), bounds in the OpenAPI."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from system.domain.aggregate import MAX_AMOUNT
from system.domain.order import MAX_ITEMS, MAX_QUANTITY
from system.domain.reference import MAX_STOCK

Amount = Annotated[int, Field(gt=0, le=MAX_AMOUNT, description="integer minor units")]
Version = Annotated[int, Field(gt=0, le=2**31 - 1)]


def _text(max_length: int, example: str) -> Any:
    return Field(min_length=1, max_length=max_length, examples=[example])


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OpenAccountBody(Body):
    owner_id: Annotated[str, _text(200, "owner-42")]


class AmountBody(Body):
    amount: Amount


class ReversalBody(Body):
    withdrawal_version: Annotated[Version, Field(description="version of the MoneyWithdrawn event")]


class CustomerBody(Body):
    name: Annotated[str, _text(200, "Ada Lovelace")]
    email: Annotated[str, _text(254, "ada@example.com")]


class ProductBody(Body):
    name: Annotated[str, _text(200, "Keyboard")]
    price: Amount
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK)]


class StockBody(Body):
    quantity: Annotated[int, Field(gt=0, le=MAX_STOCK)]


class OrderItemBody(Body):
    product_id: Annotated[str, _text(200, "b3c1…")]
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY)]
    price: Amount


class PlaceOrderBody(Body):
    customer_id: Annotated[str, _text(200, "9f2e…")]
    items: Annotated[list[OrderItemBody], Field(min_length=1, max_length=MAX_ITEMS)]
    shipping_address: Annotated[str, _text(500, "1 Main St, Springfield")]


class ShipBody(Body):
    tracking_number: Annotated[str, _text(100, "1Z999AA10123456784")]


class CancelBody(Body):
    reason: Annotated[str, _text(500, "customer changed their mind")]


class Written(BaseModel):
    """Where a command's events landed: the stream's new version and the last global position."""

    version: int
    position: int


class AccountOpened(Written):
    account_id: str


class CustomerRegistered(Written):
    customer_id: str


class ProductAdded(Written):
    product_id: str


class OrderPlaced(Written):
    order_id: str


class Processing(BaseModel):
    """The read model has not reached `min_position` yet; ask again (or wait longer)."""

    status: str = "processing"
    min_position: int


class ErrorBody(BaseModel):
    """Every error: a stable code, a message a person can act on, and the input to blame."""

    error: str
    message: str
    field: str | None = None
    actual_version: int | None = Field(
        default=None,
        description="409 `version_conflict` only: the stream's version when the command was"
        " refused (its If-Match, or the version it read, was older)",
    )
    dependency: str | None = Field(
        default=None,
        description="503 `unavailable` only: what refused (postgres, kafka, elasticsearch, or"
        " overload: too many requests in flight)",
    )
