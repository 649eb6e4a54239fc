from __future__ import annotations

import pytest

from system.domain.errors import AlreadyExists, InsufficientStock, InvalidValue, NotFound
from system.domain.events import (
    CustomerRegistered,
    MoneyDeposited,
    ProductAdded,
    StockReceived,
    StockReleased,
    StockReserved,
    StockSold,
)
from system.domain.reference import MAX_STOCK, Customer, Product


def product(stock: int = 10) -> Product:
    p = Product("p-1")
    p.apply_all(p.add("Widget", 1_500, stock))
    return p


def test_a_customer_registers_with_a_name_and_email() -> None:
    customer = Customer("c-1")
    events = customer.register(" Ada ", " ada@example.com ")
    assert events == [CustomerRegistered(name="Ada", email="ada@example.com")]
    customer.apply_all(events)
    assert (customer.state.name, customer.exists) == ("Ada", True)


def test_a_customer_registers_only_once() -> None:
    customer = Customer("c-1")
    customer.apply_all(customer.register("Ada", "ada@example.com"))
    with pytest.raises(AlreadyExists):
        customer.register("Ada", "ada@example.com")


@pytest.mark.parametrize("email", ["", "ada", "ada@", "@example.com", "ada@localhost"])
def test_a_customer_needs_a_plausible_email(email: str) -> None:
    with pytest.raises(InvalidValue) as error:
        Customer("c-1").register("Ada", email)
    assert error.value.field == "email"


def test_a_customer_needs_a_name() -> None:
    with pytest.raises(InvalidValue) as error:
        Customer("c-1").register(" ", "ada@example.com")
    assert error.value.field == "name"


def test_a_product_is_added_once_with_price_and_stock() -> None:
    assert Product("p-1").add("Widget", 1_500, 0) == [
        ProductAdded(name="Widget", price=1_500, stock=0)
    ]
    with pytest.raises(AlreadyExists):
        product().add("Widget", 1_500, 10)


@pytest.mark.parametrize(
    ("price", "stock", "field"),
    [
        (0, 1, "price"),
        (-1, 1, "price"),
        (1, -1, "stock"),
        (1, MAX_STOCK + 1, "stock"),
        (1, True, "stock"),
    ],
)
def test_a_product_needs_a_positive_price_and_a_sane_stock(
    price: int, stock: int, field: str
) -> None:
    with pytest.raises(InvalidValue) as error:
        Product("p-1").add("Widget", price, stock)
    assert error.value.field == field


def test_received_stock_adds_up() -> None:
    p = product(10)
    assert p.receive(5) == [StockReceived(quantity=5)]
    p.apply_all(p.receive(5))
    assert p.state.stock == 15


def test_receiving_needs_a_positive_quantity_and_an_existing_product() -> None:
    with pytest.raises(InvalidValue):
        product().receive(0)
    with pytest.raises(NotFound):
        Product("p-x").receive(1)


def test_reserving_takes_stock_and_releasing_gives_it_back() -> None:
    p = product(10)
    assert p.reserve("o-1", 4) == [StockReserved(order_id="o-1", quantity=4)]
    p.apply_all(p.reserve("o-1", 4))
    assert (p.state.stock, p.state.reservations) == (6, {"o-1": 4})
    assert p.release("o-1") == [StockReleased(order_id="o-1", quantity=4)]
    p.apply_all(p.release("o-1"))
    assert (p.state.stock, p.state.reservations) == (10, {})


def test_stock_cannot_be_over_reserved() -> None:
    with pytest.raises(InsufficientStock) as error:
        product(3).reserve("o-1", 4)
    assert error.value.field == "items"


def test_an_unknown_product_cannot_be_reserved() -> None:
    with pytest.raises(NotFound):
        Product("p-x").reserve("o-1", 1)


def test_delivery_turns_the_reservation_into_a_sale() -> None:
    p = product(10)
    p.apply_all(p.reserve("o-1", 4))
    assert p.sell("o-1") == [StockSold(order_id="o-1", quantity=4)]
    p.apply_all(p.sell("o-1"))
    assert (p.state.stock, p.state.sold, p.state.reservations) == (6, 4, {})


def test_settling_an_order_without_a_reservation_changes_nothing() -> None:
    assert product().release("o-unknown") == []
    assert product().sell("o-unknown") == []


@pytest.mark.parametrize("cls", [Customer, Product])
def test_reference_aggregates_reject_foreign_events(cls: type[Customer] | type[Product]) -> None:
    with pytest.raises(TypeError):
        cls("x").apply(MoneyDeposited(amount=1))
