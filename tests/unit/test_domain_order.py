from __future__ import annotations

import pytest

from system.domain.errors import AlreadyExists, IllegalTransition, InvalidValue
from system.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderItem,
    OrderPlaced,
    OrderShipped,
    StockReceived,
)
from system.domain.order import MAX_ITEMS, Order, OrderStatus

ITEMS = (
    OrderItem(product_id="p-1", quantity=2, price=1_500),
    OrderItem(product_id="p-2", quantity=1, price=999),
)


def placed() -> Order:
    order = Order("o-1")
    order.apply_all(order.place("c-1", "Ada", ITEMS, "1 Main St"))
    return order


def advanced(*steps: str) -> Order:
    order = placed()
    for step in steps:
        if step == "ship":
            order.apply_all(order.ship("TRK-1"))
        else:
            order.apply_all(getattr(order, step)())
    return order


def test_placing_an_order_totals_its_items_and_carries_the_customer_name() -> None:
    events = Order("o-1").place("c-1", "Ada", ITEMS, "  1 Main St ")
    assert events == [
        OrderPlaced(
            customer_id="c-1",
            customer_name="Ada",
            items=ITEMS,
            shipping_address="1 Main St",
            total=2 * 1_500 + 999,
        )
    ]


def test_an_order_is_placed_only_once() -> None:
    with pytest.raises(AlreadyExists):
        placed().place("c-1", "Ada", ITEMS, "1 Main St")


def test_an_order_needs_items() -> None:
    with pytest.raises(InvalidValue) as error:
        Order("o-1").place("c-1", "Ada", (), "1 Main St")
    assert error.value.field == "items"


def test_an_order_has_a_bounded_number_of_items() -> None:
    items = [OrderItem(product_id=f"p-{i}", quantity=1, price=1) for i in range(MAX_ITEMS + 1)]
    with pytest.raises(InvalidValue):
        Order("o-1").place("c-1", "Ada", items, "1 Main St")


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (OrderItem(product_id="p-1", quantity=0, price=1), "items[0].quantity"),
        (OrderItem(product_id="p-1", quantity=10_001, price=1), "items[0].quantity"),
        (OrderItem(product_id="p-1", quantity=1, price=0), "items[0].price"),
    ],
)
def test_item_quantities_and_prices_must_be_positive_and_bounded(
    item: OrderItem, field: str
) -> None:
    with pytest.raises(InvalidValue) as error:
        Order("o-1").place("c-1", "Ada", [item], "1 Main St")
    assert error.value.field == field


def test_a_product_appears_once_per_order() -> None:
    with pytest.raises(InvalidValue) as error:
        Order("o-1").place("c-1", "Ada", (ITEMS[0], ITEMS[0]), "1 Main St")
    assert error.value.field == "items[1].product_id"


def test_an_order_needs_a_shipping_address() -> None:
    with pytest.raises(InvalidValue) as error:
        Order("o-1").place("c-1", "Ada", ITEMS, " ")
    assert error.value.field == "shipping_address"


def test_the_happy_path_goes_pending_confirmed_shipped_delivered() -> None:
    order = placed()
    assert order.state.status is OrderStatus.PENDING
    assert order.confirm() == [OrderConfirmed()]
    order.apply_all(order.confirm())
    assert order.ship(" TRK-1 ") == [OrderShipped(tracking_number="TRK-1")]
    order.apply_all(order.ship("TRK-1"))
    assert order.state.tracking_number == "TRK-1"
    assert order.deliver() == [OrderDelivered(items=ITEMS)]
    order.apply_all(order.deliver())
    assert (order.state.status, order.version) == (OrderStatus.DELIVERED, 4)


@pytest.mark.parametrize("steps", [(), ("confirm",)])
def test_an_order_can_be_cancelled_before_it_ships(steps: tuple[str, ...]) -> None:
    order = advanced(*steps)
    events = order.cancel("changed my mind")
    assert events == [OrderCancelled(reason="changed my mind", items=ITEMS)]
    order.apply_all(events)
    assert order.state.status is OrderStatus.CANCELLED


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        ((), "ship"),
        ((), "deliver"),
        (("confirm",), "confirm"),
        (("confirm",), "deliver"),
        (("confirm", "ship"), "cancel"),
        (("confirm", "ship"), "confirm"),
        (("confirm", "ship", "deliver"), "cancel"),
        (("confirm", "ship", "deliver"), "ship"),
        (("cancel",), "confirm"),
        (("cancel",), "cancel"),
    ],
)
def test_illegal_transitions_are_rejected(steps: tuple[str, ...], action: str) -> None:
    order = advanced(*[s for s in steps if s != "cancel"])
    if "cancel" in steps:
        order.apply_all(order.cancel("no"))
    with pytest.raises(IllegalTransition):
        if action == "ship":
            order.ship("TRK-2")
        elif action == "cancel":
            order.cancel("again")
        else:
            getattr(order, action)()


def test_an_order_that_was_never_placed_cannot_move() -> None:
    with pytest.raises(IllegalTransition):
        Order("o-1").confirm()


def test_shipping_needs_a_tracking_number_and_cancelling_a_reason() -> None:
    with pytest.raises(InvalidValue) as error:
        advanced("confirm").ship(" ")
    assert error.value.field == "tracking_number"
    with pytest.raises(InvalidValue) as error:
        placed().cancel("")
    assert error.value.field == "reason"


def test_an_order_rejects_foreign_events() -> None:
    with pytest.raises(TypeError):
        Order("o-1").apply(StockReceived(quantity=1))
