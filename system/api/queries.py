"""Query routes: read models (Elasticsearch) with read-your-writes, and account time travel."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from system.api import schemas as s
from system.api.deps import Handlers, ReadAfter, json_response, not_found, processing
from system.api.errors import ApiError
from system.app.queries import StillProcessing

Responses = dict[int | str, dict[str, Any]]
PROCESSING: Responses = {202: {"model": s.Processing, "description": "not yet at `min_position`"}}
UNKNOWN: Responses = {404: {"model": s.ErrorBody, "description": "unknown id"}}
COMMON: dict[int | str, dict[str, Any]] = {
    422: {"model": s.ErrorBody, "description": "invalid parameter; `field` names it"},
    503: {
        "model": s.ErrorBody,
        "description": "a backing service is unavailable or the api is overloaded; retry after"
        " the `Retry-After` header's seconds",
    },
}
VIEW: dict[int | str, dict[str, Any]] = {**PROCESSING, **UNKNOWN}

router = APIRouter(responses=COMMON)
AccountId = Annotated[str, Path(**s.ID_RULES)]
OrderId = Annotated[str, Path(**s.ID_RULES)]
CustomerId = Annotated[str, Path(**s.ID_RULES)]
ProductId = Annotated[str, Path(**s.ID_RULES)]


def _answer(kind: str, identifier: str, result: object) -> Response:
    if isinstance(result, StillProcessing):
        return processing(result)
    if result is None:
        return not_found(kind, identifier)
    return json_response(result)


@router.get("/accounts/{account_id}", tags=["accounts"], responses=VIEW)
async def get_account(account_id: AccountId, read_after: ReadAfter, root: Handlers) -> Response:
    """The account balance view."""
    return _answer("account", account_id, await root.queries.account(account_id, read_after))


@router.get("/accounts/{account_id}/history", tags=["accounts"], responses=UNKNOWN)
async def account_history(
    account_id: AccountId,
    root: Handlers,
    at: Annotated[
        datetime | None,
        Query(description="ISO-8601 instant (UTC if no offset); not together with `version`"),
    ] = None,
    version: Annotated[
        int | None,
        Query(
            ge=1,
            le=s.MAX_VERSION,
            description="a version the account has reached (else 422 naming `version`)",
        ),
    ] = None,
) -> Response:
    """The account's state as of a time or a version, rebuilt from the event store (404 if the
    account did not exist then)."""
    if at is not None and version is not None:
        raise ApiError(422, "invalid_value", "give either `at` or `version`, not both", "at")
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    state = await root.queries.account_history(account_id, version=version, at=at)
    return json_response(state)


@router.get("/orders/{order_id}", tags=["orders"], responses=VIEW)
async def get_order(order_id: OrderId, read_after: ReadAfter, root: Handlers) -> Response:
    """The order status view."""
    return _answer("order", order_id, await root.queries.order(order_id, read_after))


@router.get("/customers/{customer_id}/orders", tags=["orders"], responses=PROCESSING)
async def customer_orders(
    customer_id: CustomerId, read_after: ReadAfter, root: Handlers
) -> Response:
    """The customer's order history, with the customer's name on every order."""
    result = await root.queries.customer_orders(customer_id, read_after)
    if isinstance(result, StillProcessing):
        return processing(result)
    return json_response({"customer_id": customer_id, "orders": result})


@router.get("/inventory/{product_id}", tags=["reference data"], responses=VIEW)
async def inventory(product_id: ProductId, read_after: ReadAfter, root: Handlers) -> Response:
    """Reserved, sold and remaining stock of a product."""
    return _answer("product", product_id, await root.queries.inventory(product_id, read_after))


@router.get("/revenue", tags=["orders"], responses=PROCESSING)
async def revenue(
    start: Annotated[date, Query(alias="from", description="first day (inclusive)")],
    end: Annotated[
        date,
        Query(
            alias="to",
            description="last day (inclusive): not before `from`, at most 366 days after it"
            " (else 422 naming `to`)",
        ),
    ],
    read_after: ReadAfter,
    root: Handlers,
) -> Response:
    """Revenue and order count per day in [from, to]."""
    if end < start:
        raise ApiError(422, "invalid_value", "`to` must not be before `from`", "to")
    if (end - start).days > 366:
        raise ApiError(422, "invalid_value", "a revenue range spans at most 366 days", "to")
    result = await root.queries.revenue(start, end, read_after)
    if isinstance(result, StillProcessing):
        return processing(result)
    return json_response({"from": start.isoformat(), "to": end.isoformat(), "days": result})
