from __future__ import annotations

import pytest

from system.app.commands import CommandHandlers
from system.config import Settings
from system.domain import commands as c
from system.domain.account import BankAccount
from system.domain.errors import (
    ConcurrencyError,
    InsufficientStock,
    InvalidValue,
    NotFound,
    RuleViolation,
)
from system.domain.events import OrderItem
from system.domain.order import Order, OrderStatus
from system.domain.reference import Product
from system.eventstore.postgres import PostgresEventStore
from tests.integration.eventstore_fixtures import new_id

pytestmark = pytest.mark.integration


@pytest.fixture
def handlers(event_store: PostgresEventStore) -> CommandHandlers:
    return CommandHandlers(event_store, Settings.from_env())


async def open_with(handlers: CommandHandlers, balance: int) -> str:
    account = new_id("acc")
    await handlers.handle(c.OpenAccount(account_id=account, owner_id="o"))
    await handlers.handle(c.Deposit(account_id=account, amount=balance))
    return account


async def test_a_command_answers_the_new_version_and_global_position(
    handlers: CommandHandlers, event_store: PostgresEventStore
) -> None:
    account = await open_with(handlers, 100)
    result = await handlers.handle(c.Withdraw(account_id=account, amount=30))
    assert (result.aggregate_id, result.version) == (account, 3)
    recorded = await event_store.load_event(account, 3)
    assert recorded is not None and recorded.position == result.position


async def test_commands_on_unknown_ids_raise_not_found(handlers: CommandHandlers) -> None:
    for command in (
        c.Deposit(account_id=new_id("none"), amount=1),
        c.ConfirmOrder(order_id=new_id("none")),
        c.ReceiveStock(product_id=new_id("none"), quantity=1),
    ):
        with pytest.raises(NotFound):
            await handlers.handle(command)


async def test_if_match_must_equal_the_current_version(handlers: CommandHandlers) -> None:
    account = await open_with(handlers, 100)
    with pytest.raises(ConcurrencyError) as error:
        await handlers.handle(c.Deposit(account_id=account, amount=1, expected_version=1))
    assert (error.value.expected, error.value.actual) == (1, 2)
    result = await handlers.handle(c.Deposit(account_id=account, amount=1, expected_version=2))
    assert result.version == 3


async def test_a_withdrawal_is_reversed_once_from_its_recorded_event(
    handlers: CommandHandlers,
) -> None:
    account = await open_with(handlers, 100)
    withdrawn = await handlers.handle(c.Withdraw(account_id=account, amount=60))
    await handlers.handle(
        c.ReverseWithdrawal(account_id=account, withdrawal_version=withdrawn.version)
    )
    loaded = await handlers.repository.load(BankAccount, account)
    assert loaded.state.balance == 100
    with pytest.raises(RuleViolation):
        await handlers.handle(
            c.ReverseWithdrawal(account_id=account, withdrawal_version=withdrawn.version)
        )
    with pytest.raises(InvalidValue):
        await handlers.handle(c.ReverseWithdrawal(account_id=account, withdrawal_version=2))
    with pytest.raises(InvalidValue):
        await handlers.handle(c.ReverseWithdrawal(account_id=account, withdrawal_version=99))


async def catalogue(handlers: CommandHandlers) -> tuple[str, str, str]:
    customer, p1, p2 = new_id("cust"), new_id("prod"), new_id("prod")
    await handlers.handle(c.RegisterCustomer(customer_id=customer, name="Ada", email="a@b.co"))
    await handlers.handle(c.AddProduct(product_id=p1, name="Widget", price=150, stock=5))
    await handlers.handle(c.AddProduct(product_id=p2, name="Gadget", price=900, stock=1))
    return customer, p1, p2


def order_of(customer: str, *items: tuple[str, int]) -> c.PlaceOrder:
    return c.PlaceOrder(
        order_id=new_id("order"),
        customer_id=customer,
        items=tuple(OrderItem(product_id=p, quantity=q, price=100) for p, q in items),
        shipping_address="1 Main St",
    )


async def test_placing_an_order_reserves_stock_in_the_same_append(
    handlers: CommandHandlers, event_store: PostgresEventStore
) -> None:
    customer, p1, p2 = await catalogue(handlers)
    command = order_of(customer, (p1, 2), (p2, 1))
    result = await handlers.handle(command)
    placed = await event_store.load(command.order_id)
    reserved = [(await event_store.load(p))[-1] for p in (p1, p2)]
    assert [e.event_type for e in reserved] == ["StockReserved", "StockReserved"]
    assert max(e.position for e in [*placed, *reserved]) == result.position
    order = await handlers.repository.load(Order, command.order_id)
    assert (order.state.status, order.state.customer_id) == (OrderStatus.PENDING, customer)
    assert placed[0].data.count(b"Ada") == 1
    assert (await handlers.repository.load(Product, p1)).state.stock == 3


async def test_an_order_that_cannot_be_fully_reserved_writes_nothing(
    handlers: CommandHandlers, event_store: PostgresEventStore
) -> None:
    customer, p1, p2 = await catalogue(handlers)
    command = order_of(customer, (p1, 2), (p2, 2))
    with pytest.raises(InsufficientStock):
        await handlers.handle(command)
    assert await event_store.load(command.order_id) == []
    assert (await handlers.repository.load(Product, p1)).state.stock == 5


async def test_an_order_for_an_unknown_customer_or_product_is_not_found(
    handlers: CommandHandlers,
) -> None:
    customer, p1, _ = await catalogue(handlers)
    with pytest.raises(NotFound) as error:
        await handlers.handle(order_of(new_id("nobody"), (p1, 1)))
    assert error.value.aggregate_type == "Customer"
    with pytest.raises(NotFound) as error:
        await handlers.handle(order_of(customer, (new_id("nothing"), 1)))
    assert error.value.aggregate_type == "Product"


async def test_cancelling_releases_and_delivering_sells_the_reserved_stock(
    handlers: CommandHandlers,
) -> None:
    customer, p1, p2 = await catalogue(handlers)
    cancelled, delivered = order_of(customer, (p1, 2)), order_of(customer, (p1, 1), (p2, 1))
    await handlers.handle(cancelled)
    await handlers.handle(delivered)
    await handlers.handle(c.CancelOrder(order_id=cancelled.order_id, reason="changed my mind"))
    await handlers.handle(c.ConfirmOrder(order_id=delivered.order_id))
    await handlers.handle(c.ShipOrder(order_id=delivered.order_id, tracking_number="TRK-1"))
    await handlers.handle(c.DeliverOrder(order_id=delivered.order_id))
    widget = await handlers.repository.load(Product, p1)
    gadget = await handlers.repository.load(Product, p2)
    assert (widget.state.stock, widget.state.sold, widget.state.reservations) == (4, 1, {})
    assert (gadget.state.stock, gadget.state.sold) == (0, 1)
