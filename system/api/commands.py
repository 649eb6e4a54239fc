"""Command routes: parse → command → handle → status. They answer where the events landed.

Every route accepts `Idempotency-Key` (`system/api/idempotent.py`) and `If-Match`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from system.api import schemas as s
from system.api.deps import ExpectedVersion
from system.api.idempotent import Command, execute
from system.domain import commands as c
from system.domain.events import OrderItem

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": s.ErrorBody, "description": "unknown id"},
    409: {"model": s.ErrorBody, "description": "version conflict or business rule breached"},
    413: {"model": s.ErrorBody, "description": "body too large"},
    422: {
        "model": s.ErrorBody,
        "description": "invalid input; `field` names it (a body field, a path id, `If-Match`,"
        " `X-Correlation-ID`, or `Idempotency-Key` reused with another request)",
    },
    503: {
        "model": s.ErrorBody,
        "description": "a backing service is unavailable or the api is overloaded; retry after"
        " the `Retry-After` header's seconds",
    },
}

router = APIRouter(responses=ERRORS)
AccountId = Annotated[str, Path(**s.ID_RULES)]
ProductId = Annotated[str, Path(**s.ID_RULES)]
OrderId = Annotated[str, Path(**s.ID_RULES)]


def _new_id() -> str:
    return str(uuid.uuid4())


@router.post("/accounts", status_code=201, tags=["accounts"], response_model=s.AccountOpened)
async def open_account(
    body: s.OpenAccountBody, expected: ExpectedVersion, ctx: Command
) -> Response:
    """Open an account for `owner_id`."""
    account_id = _new_id()
    command = c.OpenAccount(
        account_id=account_id, owner_id=body.owner_id, expected_version=expected
    )
    return await execute(ctx, command, 201, lambda _: {"account_id": account_id})


@router.post("/accounts/{account_id}/deposits", tags=["accounts"], response_model=s.Written)
async def deposit(
    account_id: AccountId, body: s.AmountBody, expected: ExpectedVersion, ctx: Command
) -> Response:
    """Deposit `amount` (integer minor units)."""
    command = c.Deposit(account_id=account_id, amount=body.amount, expected_version=expected)
    return await execute(ctx, command, 200)


@router.post("/accounts/{account_id}/withdrawals", tags=["accounts"], response_model=s.Written)
async def withdraw(
    account_id: AccountId, body: s.AmountBody, expected: ExpectedVersion, ctx: Command
) -> Response:
    """Withdraw `amount` (integer minor units); 409 `insufficient_funds` beyond the balance."""
    command = c.Withdraw(account_id=account_id, amount=body.amount, expected_version=expected)
    return await execute(ctx, command, 200)


@router.post("/accounts/{account_id}/reversals", tags=["accounts"], response_model=s.Written)
async def reverse_withdrawal(
    account_id: AccountId, body: s.ReversalBody, expected: ExpectedVersion, ctx: Command
) -> Response:
    """Compensate the withdrawal recorded at `withdrawal_version` (409 if that version is not a
    withdrawal or is already reversed)."""
    command = c.ReverseWithdrawal(
        account_id=account_id,
        withdrawal_version=body.withdrawal_version,
        expected_version=expected,
    )
    return await execute(ctx, command, 200)


@router.post("/accounts/{account_id}/close", tags=["accounts"], response_model=s.Written)
async def close_account(account_id: AccountId, expected: ExpectedVersion, ctx: Command) -> Response:
    """Close the account; nothing can happen to it afterwards."""
    command = c.CloseAccount(account_id=account_id, expected_version=expected)
    return await execute(ctx, command, 200)


@router.post(
    "/customers", status_code=201, tags=["reference data"], response_model=s.CustomerRegistered
)
async def register_customer(
    body: s.CustomerBody, expected: ExpectedVersion, ctx: Command
) -> Response:
    """Register a customer (their name is carried by the order read models)."""
    customer_id = _new_id()
    command = c.RegisterCustomer(
        customer_id=customer_id, name=body.name, email=body.email, expected_version=expected
    )
    return await execute(ctx, command, 201, lambda _: {"customer_id": customer_id})


@router.post("/products", status_code=201, tags=["reference data"], response_model=s.ProductAdded)
async def add_product(body: s.ProductBody, expected: ExpectedVersion, ctx: Command) -> Response:
    """Add a product with a price (integer minor units) and initial stock."""
    product_id = _new_id()
    command = c.AddProduct(
        product_id=product_id,
        name=body.name,
        price=body.price,
        stock=body.stock,
        expected_version=expected,
    )
    return await execute(ctx, command, 201, lambda _: {"product_id": product_id})


@router.post("/products/{product_id}/stock", tags=["reference data"], response_model=s.Written)
async def receive_stock(
    product_id: ProductId, body: s.StockBody, expected: ExpectedVersion, ctx: Command
) -> Response:
    """Receive `quantity` more units of the product."""
    command = c.ReceiveStock(
        product_id=product_id, quantity=body.quantity, expected_version=expected
    )
    return await execute(ctx, command, 200)


@router.post("/orders", status_code=201, tags=["orders"], response_model=s.OrderPlaced)
async def place_order(body: s.PlaceOrderBody, expected: ExpectedVersion, ctx: Command) -> Response:
    """Place an order for a registered customer; reserves the items' stock (each product at
    most once: 422 naming `items[i].product_id` for a repeat)."""
    order_id = _new_id()
    command = c.PlaceOrder(
        order_id=order_id,
        customer_id=body.customer_id,
        items=tuple(
            OrderItem(product_id=i.product_id, quantity=i.quantity, price=i.price)
            for i in body.items
        ),
        shipping_address=body.shipping_address,
        expected_version=expected,
    )
    return await execute(ctx, command, 201, lambda _: {"order_id": order_id})


@router.post("/orders/{order_id}/confirm", tags=["orders"], response_model=s.Written)
async def confirm_order(order_id: OrderId, expected: ExpectedVersion, ctx: Command) -> Response:
    """pending → confirmed."""
    command = c.ConfirmOrder(order_id=order_id, expected_version=expected)
    return await execute(ctx, command, 200)


@router.post("/orders/{order_id}/ship", tags=["orders"], response_model=s.Written)
async def ship_order(
    order_id: OrderId, body: s.ShipBody, expected: ExpectedVersion, ctx: Command
) -> Response:
    """confirmed → shipped, with the carrier's tracking number."""
    command = c.ShipOrder(
        order_id=order_id, tracking_number=body.tracking_number, expected_version=expected
    )
    return await execute(ctx, command, 200)


@router.post("/orders/{order_id}/deliver", tags=["orders"], response_model=s.Written)
async def deliver_order(order_id: OrderId, expected: ExpectedVersion, ctx: Command) -> Response:
    """shipped → delivered; the reserved stock counts as sold."""
    command = c.DeliverOrder(order_id=order_id, expected_version=expected)
    return await execute(ctx, command, 200)


@router.post("/orders/{order_id}/cancel", tags=["orders"], response_model=s.Written)
async def cancel_order(
    order_id: OrderId, body: s.CancelBody, expected: ExpectedVersion, ctx: Command
) -> Response:
    """pending or confirmed → cancelled; the reserved stock is released."""
    command = c.CancelOrder(order_id=order_id, reason=body.reason, expected_version=expected)
    return await execute(ctx, command, 200)
