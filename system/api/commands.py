"""Command routes: parse → command → handle → status. They answer where the events landed."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from system.api import schemas as s
from system.api.deps import ExpectedVersion, Handlers, Provenance
from system.app.commands import CommandResult
from system.domain import commands as c
from system.domain.events import OrderItem

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": s.ErrorBody, "description": "unknown id"},
    409: {"model": s.ErrorBody, "description": "version conflict or business rule breached"},
    413: {"model": s.ErrorBody, "description": "body too large"},
    422: {"model": s.ErrorBody, "description": "invalid input; `field` names it"},
    503: {
        "model": s.ErrorBody,
        "description": "a backing service is unavailable or the api is overloaded; retry after"
        " the `Retry-After` header's seconds",
    },
}

router = APIRouter(responses=ERRORS)


def _new_id() -> str:
    return str(uuid.uuid4())


def _landed(response: Response, result: CommandResult) -> s.Written:
    response.headers["ETag"] = f'"{result.version}"'
    return s.Written(version=result.version, position=result.position)


@router.post("/accounts", status_code=201, tags=["accounts"])
async def open_account(
    body: s.OpenAccountBody,
    expected: ExpectedVersion,
    meta: Provenance,
    root: Handlers,
    response: Response,
) -> s.AccountOpened:
    """Open an account for `owner_id`."""
    account_id = _new_id()
    command = c.OpenAccount(
        account_id=account_id, owner_id=body.owner_id, expected_version=expected
    )
    landed = _landed(response, await root.commands.handle(command, meta))
    return s.AccountOpened(account_id=account_id, **landed.model_dump())


@router.post("/accounts/{account_id}/deposits", tags=["accounts"])
async def deposit(
    account_id: str,
    body: s.AmountBody,
    expected: ExpectedVersion,
    meta: Provenance,
    root: Handlers,
    response: Response,
) -> s.Written:
    """Deposit `amount` (minor units)."""
    command = c.Deposit(account_id=account_id, amount=body.amount, expected_version=expected)
    return _landed(response, await root.commands.handle(command, meta))


@router.post("/accounts/{account_id}/withdrawals", tags=["accounts"])
async def withdraw(
    account_id: str,
    body: s.AmountBody,
    expected: ExpectedVersion,
    meta: Provenance,
    root: Handlers,
    response: Response,
) -> s.Written:
    """Withdraw `amount` (minor units); 409 `insufficient_funds` beyond the balance."""
    command = c.Withdraw(account_id=account_id, amount=body.amount, expected_version=expected)
    return _landed(response, await root.commands.handle(command, meta))


@router.post("/accounts/{account_id}/reversals", tags=["accounts"])
async def reverse_withdrawal(
    account_id: str,
    body: s.ReversalBody,
    expected: ExpectedVersion,
    meta: Provenance,
    root: Handlers,
    response: Response,
) -> s.Written:
    """Compensate the withdrawal recorded at `withdrawal_version`."""
    command = c.ReverseWithdrawal(
        account_id=account_id,
        withdrawal_version=body.withdrawal_version,
        expected_version=expected,
    )
    return _landed(response, await root.commands.handle(command, meta))


@router.post("/accounts/{account_id}/close", tags=["accounts"])
async def close_account(
    account_id: str, expected: ExpectedVersion, meta: Provenance, root: Handlers, response: Response
) -> s.Written:
    """Close the account; nothing can happen to it afterwards."""
    command = c.CloseAccount(account_id=account_id, expected_version=expected)
    return _landed(response, await root.commands.handle(command, meta))


@router.post("/customers", status_code=201, tags=["reference data"])
async def register_customer(
    body: s.CustomerBody,
    expected: ExpectedVersion,
    meta: Provenance,
    root: Handlers,
    response: Response,
) -> s.CustomerRegistered:
    """Register a customer (their name is carried by the order read models)."""
    customer_id = _new_id()
    command = c.RegisterCustomer(
        customer_id=customer_id, name=body.name, email=body.email, expected_version=expected
    )
    landed = _landed(response, await root.commands.handle(command, meta))
    return s.CustomerRegistered(customer_id=customer_id, **landed.model_dump())


@router.post("/products", status_code=201, tags=["reference data"])
async def add_product(
    body: s.ProductBody,
    expected: ExpectedVersion,
    meta: Provenance,
    root: Handlers,
    response: Response,
) -> s.ProductAdded:
    """Add a product with a price (minor units) and initial stock."""
    product_id = _new_id()
    command = c.AddProduct(
        product_id=product_id,
        name=body.name,
        price=body.price,
        stock=body.stock,
        expected_version=expected,
    )
    landed = _landed(response, await root.commands.handle(command, meta))
    return s.ProductAdded(product_id=product_id, **landed.model_dump())


@router.post("/products/{product_id}/stock", tags=["reference data"])
async def receive_stock(
    product_id: str,
    body: s.StockBody,
    expected: ExpectedVersion,
    meta: Provenance,
    root: Handlers,
    response: Response,
) -> s.Written:
    """Receive `quantity` more units of the product."""
    command = c.ReceiveStock(
        product_id=product_id, quantity=body.quantity, expected_version=expected
    )
    return _landed(response, await root.commands.handle(command, meta))


@router.post("/orders", status_code=201, tags=["orders"])
async def place_order(
    body: s.PlaceOrderBody,
    expected: ExpectedVersion,
    meta: Provenance,
    root: Handlers,
    response: Response,
) -> s.OrderPlaced:
    """Place an order for a registered customer; reserves the items' stock."""
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
    landed = _landed(response, await root.commands.handle(command, meta))
    return s.OrderPlaced(order_id=order_id, **landed.model_dump())


@router.post("/orders/{order_id}/confirm", tags=["orders"])
async def confirm_order(
    order_id: str, expected: ExpectedVersion, meta: Provenance, root: Handlers, response: Response
) -> s.Written:
    """pending → confirmed."""
    command = c.ConfirmOrder(order_id=order_id, expected_version=expected)
    return _landed(response, await root.commands.handle(command, meta))


@router.post("/orders/{order_id}/ship", tags=["orders"])
async def ship_order(
    order_id: str,
    body: s.ShipBody,
    expected: ExpectedVersion,
    meta: Provenance,
    root: Handlers,
    response: Response,
) -> s.Written:
    """confirmed → shipped, with the carrier's tracking number."""
    command = c.ShipOrder(
        order_id=order_id, tracking_number=body.tracking_number, expected_version=expected
    )
    return _landed(response, await root.commands.handle(command, meta))


@router.post("/orders/{order_id}/deliver", tags=["orders"])
async def deliver_order(
    order_id: str, expected: ExpectedVersion, meta: Provenance, root: Handlers, response: Response
) -> s.Written:
    """shipped → delivered; the reserved stock counts as sold."""
    command = c.DeliverOrder(order_id=order_id, expected_version=expected)
    return _landed(response, await root.commands.handle(command, meta))


@router.post("/orders/{order_id}/cancel", tags=["orders"])
async def cancel_order(
    order_id: str,
    body: s.CancelBody,
    expected: ExpectedVersion,
    meta: Provenance,
    root: Handlers,
    response: Response,
) -> s.Written:
    """pending or confirmed → cancelled; the reserved stock is released."""
    command = c.CancelOrder(order_id=order_id, reason=body.reason, expected_version=expected)
    return _landed(response, await root.commands.handle(command, meta))
