"""Request and response bodies: strict, closed (unknown fields rejected), bounds in the OpenAPI."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from system.domain.aggregate import MAX_AMOUNT
from system.domain.order import MAX_ITEMS, MAX_QUANTITY
from system.domain.reference import MAX_STOCK

MAX_VERSION = 2**31 - 1
MAX_POSITION = 2**63 - 1
ID_PATTERN = r"^[A-Za-z0-9_~:@-]{1,200}$"
ID_RULES: dict[str, Any] = {
    "min_length": 1,
    "max_length": 200,
    "pattern": ID_PATTERN,
    "description": "1-200 characters from A-Z a-z 0-9 _ ~ : @ - (the api mints uuid4s)",
}
_NO_CONTROL = r"\x00-\x1f\x7f-\x9f"
TEXT_PATTERN = rf"^[^{_NO_CONTROL}]*[^\s{_NO_CONTROL}][^{_NO_CONTROL}]*$"
"""Printable text with at least one non-space character (no NUL or other control character)."""
EMAIL_PATTERN = rf"^\s*[^@\s{_NO_CONTROL}]+@[^@\s{_NO_CONTROL}]*\.[^@\s{_NO_CONTROL}]*\s*$"


def _whole(value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer: take it as 3 (3.5 and "3" stay refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WHOLE = BeforeValidator(_whole)
Amount = Annotated[
    int,
    Field(ge=1, le=MAX_AMOUNT, description="integer minor units (no fraction, no string)"),
    WHOLE,
]
Version = Annotated[int, Field(ge=1, le=MAX_VERSION), WHOLE]
Id = Annotated[str, Field(**ID_RULES)]


def _text(max_length: int, example: str) -> Any:
    return Field(
        min_length=1,
        max_length=max_length,
        pattern=TEXT_PATTERN,
        examples=[example],
        description=f"1-{max_length} characters, not all spaces, no control characters",
    )


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
    email: Annotated[
        str,
        Field(
            min_length=3,
            max_length=254,
            pattern=EMAIL_PATTERN,
            examples=["ada@example.com"],
            description="an e-mail address: local@domain, with a dot in the domain",
        ),
    ]


class ProductBody(Body):
    name: Annotated[str, _text(200, "Keyboard")]
    price: Amount
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK), WHOLE]


class StockBody(Body):
    quantity: Annotated[int, Field(ge=1, le=MAX_STOCK), WHOLE]


class OrderItemBody(Body):
    product_id: Annotated[Id, Field(examples=["b3c1f0e2-6d0a-4c4e-9a55-0f4c2d9e7b61"])]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY), WHOLE]
    price: Amount


class PlaceOrderBody(Body):
    customer_id: Annotated[Id, Field(examples=["9f2e7c1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"])]
    items: Annotated[
        list[OrderItemBody],
        Field(
            min_length=1,
            max_length=MAX_ITEMS,
            description="each product at most once (a repeat is a 422 naming"
            " `items[i].product_id`)",
        ),
    ]
    shipping_address: Annotated[str, _text(500, "1 Main St, Springfield")]


class ShipBody(Body):
    tracking_number: Annotated[str, _text(100, "1Z999AA10123456784")]


class CancelBody(Body):
    reason: Annotated[str, _text(500, "customer changed their mind")]


class Written(BaseModel):
    """Where a command's events landed: the stream's new version and the last global position."""

    version: Annotated[int, Field(ge=1, le=MAX_VERSION)]
    position: Annotated[int, Field(ge=1, le=MAX_POSITION)]


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

    status: Literal["processing"] = "processing"
    min_position: Annotated[int, Field(ge=0, le=MAX_POSITION)]


class ErrorBody(BaseModel):
    """Every error: a stable code, a message a person can act on, and the input to blame."""

    error: str
    message: str
    field: str | None = None
    stream_id: str | None = Field(
        default=None,
        description="409 `version_conflict` only: the stream whose version moved on (the"
        " command's own aggregate, or another stream the same append wrote, e.g. a product's)",
    )
    expected_version: int | None = Field(
        default=None,
        description="409 `version_conflict` only: the version the refused append expected (its"
        " If-Match, or the version the command read)",
    )
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
