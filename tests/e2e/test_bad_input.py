"""Malformed or forbidden requests get the right status, code and field, and write nothing."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

pytestmark = pytest.mark.e2e

OVERSIZE = "x" * (70 * 1024)


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    body: Any = None
    status: int = 422
    error: str = "invalid_value"
    field: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    raw: bytes | None = None
    method: str = "POST"


def _order(**overrides: Any) -> dict[str, Any]:
    item = {"product_id": "{product}", "quantity": 1, "price": 100}
    body: dict[str, Any] = {
        "customer_id": "{customer}",
        "items": [item],
        "shipping_address": "1 Rd",
    }
    body.update(overrides)
    return body


def _item(**overrides: Any) -> dict[str, Any]:
    return _order(items=[{"product_id": "{product}", "quantity": 1, "price": 100, **overrides}])


DEPOSIT = "/accounts/{account}/deposits"
CASES = [
    Case("amount as a string", DEPOSIT, {"amount": "10"}, field="amount"),
    Case("amount as a float", DEPOSIT, {"amount": 10.5}, field="amount"),
    Case("amount as a boolean", DEPOSIT, {"amount": True}, field="amount"),
    Case("negative amount", DEPOSIT, {"amount": -5}, field="amount"),
    Case("zero amount", DEPOSIT, {"amount": 0}, field="amount"),
    Case("huge amount", DEPOSIT, {"amount": 10**13}, field="amount"),
    Case("missing amount", DEPOSIT, {}, error="missing_field", field="amount"),
    Case(
        "unknown field",
        DEPOSIT,
        {"amount": 1, "currency": "EUR"},
        error="unknown_field",
        field="currency",
    ),
    Case(
        "not JSON",
        DEPOSIT,
        raw=b"amount=5",
        headers={"Content-Type": "application/json"},
        error="invalid_json",
    ),
    Case("a JSON array, not an object", DEPOSIT, [5]),
    Case("oversize body", "/accounts", {"owner_id": OVERSIZE}, 413, "body_too_large"),
    Case(
        "malformed If-Match",
        DEPOSIT,
        {"amount": 1},
        error="invalid_header",
        field="If-Match",
        headers={"If-Match": "latest"},
    ),
    Case(
        "stale If-Match", DEPOSIT, {"amount": 1}, 409, "version_conflict", headers={"If-Match": "1"}
    ),
    Case(
        "withdraw more than the balance",
        "/accounts/{account}/withdrawals",
        {"amount": 101},
        409,
        "insufficient_funds",
        "amount",
    ),
    Case(
        "reverse a deposit",
        "/accounts/{account}/reversals",
        {"withdrawal_version": 2},
        field="withdrawal_version",
    ),
    Case(
        "reverse a version that does not exist",
        "/accounts/{account}/reversals",
        {"withdrawal_version": 99},
        field="withdrawal_version",
    ),
    Case(
        "deposit to an unknown account",
        "/accounts/{missing}/deposits",
        {"amount": 1},
        404,
        "not_found",
    ),
    Case("owner id as a number", "/accounts", {"owner_id": 42}, field="owner_id"),
    Case("blank customer name", "/customers", {"name": "   ", "email": "a@b.io"}, field="name"),
    Case(
        "e-mail without @", "/customers", {"name": "Bo", "email": "bo.example.com"}, field="email"
    ),
    Case("zero price", "/products", {"name": "Pen", "price": 0, "stock": 1}, field="price"),
    Case(
        "negative stock received", "/products/{product}/stock", {"quantity": -1}, field="quantity"
    ),
    Case("empty item list", "/orders", _order(items=[]), field="items"),
    Case("item quantity zero", "/orders", _item(quantity=0), field="items[0].quantity"),
    Case("item quantity as a string", "/orders", _item(quantity="2"), field="items[0].quantity"),
    Case(
        "unknown item field",
        "/orders",
        _item(colour="red"),
        error="unknown_field",
        field="items[0].colour",
    ),
    Case("more than the stock", "/orders", _item(quantity=6), 409, "insufficient_stock", "items"),
    Case(
        "order for an unknown customer",
        "/orders",
        _order(customer_id="{missing}"),
        404,
        "not_found",
    ),
    Case(
        "ship a pending order",
        "/orders/{order}/ship",
        {"tracking_number": "T1"},
        409,
        "illegal_transition",
    ),
    Case("deliver a pending order", "/orders/{order}/deliver", None, 409, "illegal_transition"),
    Case("cancel without a reason", "/orders/{order}/cancel", None, error="missing_field"),
    Case("confirm an unknown order", "/orders/{missing}/confirm", None, 404, "not_found"),
    Case(
        "wait longer than allowed",
        "/orders/{order}?min_position=1&wait_ms=60000",
        method="GET",
        field="wait_ms",
    ),
    Case(
        "revenue with a malformed date",
        "/revenue?from=yesterday&to=2030-01-01",
        method="GET",
        field="from",
    ),
]


@pytest.fixture(scope="module")
async def ids(api: httpx.AsyncClient) -> dict[str, str]:
    """An account holding 100 (version 2), a customer, a product (5 in stock), a pending order."""

    async def create(path: str, body: dict[str, Any], key: str) -> str:
        response = await api.post(path, json=body)
        assert response.status_code in {200, 201}, response.text
        return str(response.json()[key]) if key else ""

    account = await create("/accounts", {"owner_id": "bad-input"}, "account_id")
    await create(f"/accounts/{account}/deposits", {"amount": 100}, "")
    customer = await create("/customers", {"name": "Bad Input", "email": "b@i.io"}, "customer_id")
    product = await create("/products", {"name": "Pen", "price": 100, "stock": 5}, "product_id")
    order = await create("/orders", _fill(_order(), customer=customer, product=product), "order_id")
    return {
        "account": account,
        "customer": customer,
        "product": product,
        "order": order,
        "missing": str(uuid.uuid4()),
    }


def _fill(value: Any, **ids: str) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, list):
        return [_fill(v, **ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, **ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_a_bad_request_is_refused_precisely_and_writes_nothing(
    case: Case,
    api: httpx.AsyncClient,
    ids: dict[str, str],
    db: asyncpg.Connection,
) -> None:
    correlation = str(uuid.uuid4())
    headers = {"X-Correlation-ID": correlation, **case.headers}
    request: dict[str, Any] = {"headers": headers}
    if case.raw is not None:
        request["content"] = case.raw
    elif case.body is not None:
        request["json"] = _fill(case.body, **ids)
    before = await _events_of(db, ids)

    response = await api.request(case.method, _fill(case.path, **ids), **request)

    body = response.json()
    assert response.status_code == case.status, body
    assert body["error"] == case.error, body
    assert body.get("field") == case.field, body
    assert body["message"]
    assert await _events_of(db, ids) == before
    written = await db.fetchval(
        "SELECT count(*) FROM events WHERE metadata->>'correlation_id' = $1", correlation
    )
    assert written == 0


async def _events_of(db: asyncpg.Connection, ids: dict[str, str]) -> int:
    """Events in the streams a case can touch; new streams are caught by correlation id.

    Counting only these (not the whole table) keeps the check exact on a shared stack where
    other clients write at the same time.
    """
    count: int = await db.fetchval(
        "SELECT count(*) FROM events WHERE aggregate_id = ANY($1::text[])", list(ids.values())
    )
    return count
