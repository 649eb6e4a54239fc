"""Command handlers over the in-memory event store: what each command appends and answers, what a
refused command leaves behind (nothing), lost races with and without retry, idempotency keys and
snapshots — without PostgreSQL (`tests/integration/test_command_handlers.py` runs against it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import orjson
import pytest
from prometheus_client import REGISTRY

from system.app.commands import CommandHandlers, CommandResult, KeyedCommand
from system.app.repository import Repository
from system.app.retry import RetryPolicy
from system.config import Settings
from system.domain import commands as c
from system.domain.account import AccountState, BankAccount
from system.domain.codec import decode_event, decode_state
from system.domain.errors import (
    AccountAlreadyOpened,
    AccountClosed,
    AlreadyExists,
    ConcurrencyError,
    DomainError,
    IllegalTransition,
    InsufficientFunds,
    InsufficientStock,
    InvalidValue,
    NotFound,
    RuleViolation,
)
from system.domain.events import (
    AccountClosed as AccountClosedEvent,
)
from system.domain.events import (
    AccountOpened,
    CustomerRegistered,
    Event,
    MoneyDeposited,
    MoneyWithdrawn,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderItem,
    OrderPlaced,
    OrderShipped,
    ProductAdded,
    StockReceived,
    StockReleased,
    StockReserved,
    StockSold,
    WithdrawalReversed,
)
from system.domain.recorded import Metadata
from system.domain.reference import Product
from system.ports import AppendResult, IdempotencyRecord, KeyTaken, Snapshot, StreamAppend
from tests.support.memory_event_store import MemoryEventStore

X = TypeVar("X", bound=Exception)
Written = list[tuple[str, int, Event]]

ITEMS = (
    OrderItem(product_id="p-1", quantity=2, price=150),
    OrderItem(product_id="p-2", quantity=1, price=900),
)


class RacingStore(MemoryEventStore):
    """A rival writer that commits first: each armed event is appended at its stream's head just
    before the next append runs, i.e. between a handler's load and its append."""

    def __init__(self) -> None:
        super().__init__()
        self.rivals: list[tuple[str, str, Event]] = []

    def arm(self, aggregate_id: str, aggregate_type: str, event: Event, times: int = 1) -> None:
        self.rivals += [(aggregate_id, aggregate_type, event)] * times

    async def append(
        self,
        streams: Sequence[StreamAppend],
        metadata: Metadata | None = None,
        *,
        snapshots: Sequence[Snapshot] = (),
        idempotency: IdempotencyRecord | None = None,
    ) -> AppendResult:
        if self.rivals:
            aggregate_id, aggregate_type, event = self.rivals.pop(0)
            rival = StreamAppend(
                aggregate_id=aggregate_id,
                aggregate_type=aggregate_type,
                expected_version=len(await self.load(aggregate_id)),
                events=[event],
            )
            await super().append([rival])
        return await super().append(streams, metadata, snapshots=snapshots, idempotency=idempotency)


@pytest.fixture
def store() -> RacingStore:
    return RacingStore()


def handlers_over(
    store: MemoryEventStore, *, snapshot_every: int | None = None, retry: RetryPolicy | None = None
) -> CommandHandlers:
    return CommandHandlers(store, Settings(snapshot_every=snapshot_every), retry)


@pytest.fixture
def handlers(store: RacingStore) -> CommandHandlers:
    return handlers_over(store)


def tries(command: str) -> tuple[float, float]:
    """Attempts and lost races counted so far for a command type, as the metrics show them."""
    labels = {"command": command}
    attempts = REGISTRY.get_sample_value("cqrs_command_attempts_total", labels)
    conflicts = REGISTRY.get_sample_value("cqrs_command_conflicts_total", labels)
    return attempts or 0.0, conflicts or 0.0


def eager_retry(attempts: int) -> RetryPolicy:
    """Up to `attempts` attempts, without sleeping between them."""
    return RetryPolicy(attempts, base_delay=0, max_delay=0)


async def written(store: MemoryEventStore, after_position: int = 0) -> Written:
    """(stream, version, event) of every event recorded after a global position, in order."""
    return [
        (e.aggregate_id, e.version, decode_event(e.event_type, e.data))
        for e in await store.read_all(after_position, 1_000)
    ]


async def refused(
    handlers: CommandHandlers, store: MemoryEventStore, command: c.Command, error: type[X]
) -> X:
    """Handle `command`, expecting `error`; the store must not have moved."""
    head = await store.head_position()
    with pytest.raises(error) as raised:
        await handlers.handle(command)
    assert await store.head_position() == head
    return raised.value


async def open_with(handlers: CommandHandlers, account: str, balance: int) -> None:
    await handlers.handle(c.OpenAccount(account_id=account, owner_id="ada"))
    await handlers.handle(c.Deposit(account_id=account, amount=balance))


async def catalogue(handlers: CommandHandlers) -> None:
    """Customer c-1 (Ada); products p-1 (5 in stock) and p-2 (1 in stock)."""
    await handlers.handle(c.RegisterCustomer(customer_id="c-1", name="Ada", email="ada@x.org"))
    await handlers.handle(c.AddProduct(product_id="p-1", name="Widget", price=150, stock=5))
    await handlers.handle(c.AddProduct(product_id="p-2", name="Gadget", price=900, stock=1))


def place(order_id: str = "o-1", items: tuple[OrderItem, ...] = ITEMS) -> c.PlaceOrder:
    return c.PlaceOrder(
        order_id=order_id, customer_id="c-1", items=items, shipping_address="1 Main St"
    )


async def placed(handlers: CommandHandlers, *steps: c.Command) -> None:
    """The catalogue, order o-1 of ITEMS, then `steps`."""
    await catalogue(handlers)
    await handlers.handle(place())
    for step in steps:
        await handlers.handle(step)


async def stock_of(handlers: CommandHandlers, product_id: str) -> tuple[int, int, dict[str, int]]:
    product = await handlers.repository.load(Product, product_id)
    return product.state.stock, product.state.sold, product.state.reservations


# Accounts


async def test_opening_an_account_appends_one_event_and_answers_where_it_landed(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    meta = Metadata(correlation_id="corr-1", user_id="u-1")
    result = await handlers.handle(c.OpenAccount(account_id="a-1", owner_id="  ada "), meta)
    assert result == CommandResult(aggregate_id="a-1", version=1, position=1)
    assert await written(store) == [("a-1", 1, AccountOpened(owner_id="ada"))]
    [recorded] = await store.load("a-1")
    assert (recorded.aggregate_type, recorded.metadata) == ("BankAccount", meta)


async def test_deposits_withdrawals_and_closing_append_at_the_next_version(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    withdrawn = await handlers.handle(c.Withdraw(account_id="a-1", amount=30))
    closed = await handlers.handle(c.CloseAccount(account_id="a-1"))
    assert (withdrawn.version, withdrawn.position) == (3, 3)
    assert (closed.version, closed.position) == (4, 4)
    assert await written(store) == [
        ("a-1", 1, AccountOpened(owner_id="ada")),
        ("a-1", 2, MoneyDeposited(amount=100)),
        ("a-1", 3, MoneyWithdrawn(amount=30)),
        ("a-1", 4, AccountClosedEvent()),
    ]
    account = await handlers.repository.load(BankAccount, "a-1")
    assert (account.state.balance, account.state.closed) == (70, True)


async def test_a_withdrawal_is_reversed_once_with_the_amount_of_its_recorded_event(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    await handlers.handle(c.Withdraw(account_id="a-1", amount=60))
    result = await handlers.handle(c.ReverseWithdrawal(account_id="a-1", withdrawal_version=3))
    assert (result.version, result.position) == (4, 4)
    assert await written(store, 3) == [
        ("a-1", 4, WithdrawalReversed(withdrawal_version=3, amount=60))
    ]
    account = await handlers.repository.load(BankAccount, "a-1")
    assert (account.state.balance, account.state.reversed_versions) == (100, [3])
    again = c.ReverseWithdrawal(account_id="a-1", withdrawal_version=3)
    assert "already reversed" in (await refused(handlers, store, again, RuleViolation)).message
    for version in (2, 99):
        not_a_withdrawal = c.ReverseWithdrawal(account_id="a-1", withdrawal_version=version)
        error = await refused(handlers, store, not_a_withdrawal, InvalidValue)
        assert error.field == "withdrawal_version"


@pytest.mark.parametrize(
    ("command", "error", "field"),
    [
        (c.Deposit(account_id="a-1", amount=0), InvalidValue, "amount"),
        (c.Withdraw(account_id="a-1", amount=-5), InvalidValue, "amount"),
        (c.Withdraw(account_id="a-1", amount=101), InsufficientFunds, "amount"),
        (c.OpenAccount(account_id="a-1", owner_id="bob"), AccountAlreadyOpened, None),
        (c.OpenAccount(account_id="a-2", owner_id="  "), InvalidValue, "owner_id"),
    ],
    ids=["zero-deposit", "negative-withdrawal", "overdraft", "opened-twice", "blank-owner"],
)
async def test_an_account_command_that_breaks_a_rule_appends_nothing(
    handlers: CommandHandlers,
    store: RacingStore,
    command: c.Command,
    error: type[DomainError],
    field: str | None,
) -> None:
    await open_with(handlers, "a-1", 100)
    assert (await refused(handlers, store, command, error)).field == field
    assert (await handlers.repository.load(BankAccount, "a-1")).state.balance == 100


async def test_a_closed_account_refuses_every_further_command(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    await handlers.handle(c.Withdraw(account_id="a-1", amount=10))
    await handlers.handle(c.CloseAccount(account_id="a-1"))
    for command in (
        c.Deposit(account_id="a-1", amount=1),
        c.Withdraw(account_id="a-1", amount=1),
        c.ReverseWithdrawal(account_id="a-1", withdrawal_version=3),
        c.CloseAccount(account_id="a-1"),
    ):
        await refused(handlers, store, command, AccountClosed)


async def test_commands_on_unknown_streams_are_not_found_and_create_nothing(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    for command, kind, missing in (
        (c.Deposit(account_id="a-9", amount=1), "BankAccount", "a-9"),
        (c.CloseAccount(account_id="a-9"), "BankAccount", "a-9"),
        (c.ReverseWithdrawal(account_id="a-9", withdrawal_version=1), "BankAccount", "a-9"),
        (c.ReceiveStock(product_id="p-9", quantity=1), "Product", "p-9"),
        (c.ConfirmOrder(order_id="o-9"), "Order", "o-9"),
        (c.CancelOrder(order_id="o-9", reason="late"), "Order", "o-9"),
    ):
        error = await refused(handlers, store, command, NotFound)
        assert (error.aggregate_type, error.aggregate_id) == (kind, missing)
    assert await store.head_position() == 0


# Reference data


async def test_customers_and_products_are_registered_once_and_stock_is_received(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await catalogue(handlers)
    received = await handlers.handle(c.ReceiveStock(product_id="p-2", quantity=4))
    assert received == CommandResult(aggregate_id="p-2", version=2, position=4)
    assert await written(store) == [
        ("c-1", 1, CustomerRegistered(name="Ada", email="ada@x.org")),
        ("p-1", 1, ProductAdded(name="Widget", price=150, stock=5)),
        ("p-2", 1, ProductAdded(name="Gadget", price=900, stock=1)),
        ("p-2", 2, StockReceived(quantity=4)),
    ]
    assert await stock_of(handlers, "p-2") == (5, 0, {})
    for command, error, field in (
        (c.RegisterCustomer(customer_id="c-1", name="Bo", email="bo@x.org"), AlreadyExists, None),
        (c.RegisterCustomer(customer_id="c-2", name="Bo", email="bo-at-x"), InvalidValue, "email"),
        (c.AddProduct(product_id="p-1", name="W", price=1, stock=1), AlreadyExists, None),
        (c.AddProduct(product_id="p-3", name="W", price=1, stock=-1), InvalidValue, "stock"),
        (c.AddProduct(product_id="p-3", name="W", price=0, stock=1), InvalidValue, "price"),
        (c.ReceiveStock(product_id="p-1", quantity=0), InvalidValue, "quantity"),
    ):
        assert (await refused(handlers, store, command, error)).field == field


# Orders


async def test_placing_an_order_appends_it_and_every_reservation_in_one_append(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await catalogue(handlers)
    meta = Metadata(correlation_id="corr-9")
    result = await handlers.handle(place(), meta)
    assert result == CommandResult(aggregate_id="o-1", version=1, position=6)
    order_placed = OrderPlaced(
        customer_id="c-1",
        customer_name="Ada",
        items=ITEMS,
        shipping_address="1 Main St",
        total=2 * 150 + 900,
    )
    assert await written(store, 3) == [
        ("o-1", 1, order_placed),
        ("p-1", 2, StockReserved(order_id="o-1", quantity=2)),
        ("p-2", 2, StockReserved(order_id="o-1", quantity=1)),
    ]
    assert {e.metadata for e in await store.read_all(3, 10)} == {meta}
    assert await stock_of(handlers, "p-1") == (3, 0, {"o-1": 2})
    assert await stock_of(handlers, "p-2") == (0, 0, {"o-1": 1})


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (
            c.PlaceOrder(order_id="o-2", customer_id="c-9", items=ITEMS, shipping_address="x"),
            NotFound,
        ),
        (place("o-2", (OrderItem(product_id="p-9", quantity=1, price=1),)), NotFound),
        (
            place("o-2", (ITEMS[0], OrderItem(product_id="p-2", quantity=2, price=900))),
            InsufficientStock,
        ),
        (place("o-2", (ITEMS[0], ITEMS[0])), InvalidValue),
        (place("o-2", ()), InvalidValue),
        (place("o-1"), AlreadyExists),
    ],
    ids=["unknown-customer", "unknown-product", "short-stock", "twice-listed", "empty", "twice"],
)
async def test_an_order_that_cannot_be_placed_writes_no_order_and_no_reservation(
    handlers: CommandHandlers, store: RacingStore, command: c.PlaceOrder, error: type[Exception]
) -> None:
    await placed(handlers)
    await refused(handlers, store, command, error)
    assert await store.load("o-2") == []
    assert await stock_of(handlers, "p-1") == (3, 0, {"o-1": 2})


async def test_an_order_is_confirmed_shipped_and_delivered_selling_its_reservations(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await placed(handlers)
    confirmed = await handlers.handle(c.ConfirmOrder(order_id="o-1"))
    shipped = await handlers.handle(c.ShipOrder(order_id="o-1", tracking_number=" TRK-1 "))
    delivered = await handlers.handle(c.DeliverOrder(order_id="o-1"))
    assert [(r.version, r.position) for r in (confirmed, shipped, delivered)] == [
        (2, 7),
        (3, 8),
        (4, 11),
    ]
    assert await written(store, 6) == [
        ("o-1", 2, OrderConfirmed()),
        ("o-1", 3, OrderShipped(tracking_number="TRK-1")),
        ("o-1", 4, OrderDelivered(items=ITEMS)),
        ("p-1", 3, StockSold(order_id="o-1", quantity=2)),
        ("p-2", 3, StockSold(order_id="o-1", quantity=1)),
    ]
    assert await stock_of(handlers, "p-1") == (3, 2, {})
    assert await stock_of(handlers, "p-2") == (0, 1, {})


async def test_cancelling_an_order_releases_its_reservations_in_the_same_append(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await placed(handlers, c.ConfirmOrder(order_id="o-1"))
    cancelled = await handlers.handle(c.CancelOrder(order_id="o-1", reason="changed mind"))
    assert (cancelled.aggregate_id, cancelled.version, cancelled.position) == ("o-1", 3, 10)
    assert await written(store, 7) == [
        ("o-1", 3, OrderCancelled(reason="changed mind", items=ITEMS)),
        ("p-1", 3, StockReleased(order_id="o-1", quantity=2)),
        ("p-2", 3, StockReleased(order_id="o-1", quantity=1)),
    ]
    assert await stock_of(handlers, "p-1") == (5, 0, {})
    assert await stock_of(handlers, "p-2") == (1, 0, {})


async def test_illegal_order_transitions_append_nothing(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await placed(handlers)
    for pending_command, error, message in (
        (
            c.ShipOrder(order_id="o-1", tracking_number="TRK-1"),
            IllegalTransition,
            "cannot ship an order that is pending",
        ),
        (
            c.DeliverOrder(order_id="o-1"),
            IllegalTransition,
            "cannot deliver an order that is pending",
        ),
        (c.CancelOrder(order_id="o-1", reason="  "), InvalidValue, "reason must not be empty"),
    ):
        assert (await refused(handlers, store, pending_command, error)).message == message
    await handlers.handle(c.ConfirmOrder(order_id="o-1"))
    await handlers.handle(c.ShipOrder(order_id="o-1", tracking_number="TRK-1"))
    for late, action in (
        (c.ConfirmOrder(order_id="o-1"), "confirm"),
        (c.CancelOrder(order_id="o-1", reason="late"), "cancel"),
    ):
        refusal = await refused(handlers, store, late, IllegalTransition)
        assert refusal.message == f"cannot {action} an order that is shipped"
    assert await stock_of(handlers, "p-1") == (3, 0, {"o-1": 2})


# Optimistic concurrency


async def test_if_match_at_a_stale_version_is_refused_before_deciding_and_never_retried(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    retry = eager_retry(5)
    retrying = handlers_over(store, retry=retry)
    stale = c.Deposit(account_id="a-1", amount=1, expected_version=1)
    attempts, conflicts = tries("Deposit")
    error = await refused(retrying, store, stale, ConcurrencyError)
    assert (error.aggregate_id, error.expected, error.actual) == ("a-1", 1, 2)
    assert tries("Deposit") == (attempts + 1, conflicts + 1)
    assert (retry.attempts, retry.conflicts) == (1, 1)
    pinned = await retrying.handle(c.Deposit(account_id="a-1", amount=1, expected_version=2))
    assert pinned.version == 3


async def test_a_rival_append_between_load_and_append_is_a_conflict_without_retry(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    store.arm("a-1", "BankAccount", MoneyDeposited(amount=7))
    with pytest.raises(ConcurrencyError) as raised:
        await handlers.handle(c.Withdraw(account_id="a-1", amount=50))
    assert (raised.value.aggregate_id, raised.value.expected, raised.value.actual) == (
        "a-1",
        2,
        3,
    )
    assert await written(store, 2) == [("a-1", 3, MoneyDeposited(amount=7))]


async def test_a_lost_race_is_retried_on_the_reloaded_stream(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    retry = eager_retry(3)
    store.arm("a-1", "BankAccount", MoneyDeposited(amount=7))
    result = await handlers_over(store, retry=retry).handle(c.Withdraw(account_id="a-1", amount=50))
    assert result == CommandResult(aggregate_id="a-1", version=4, position=4)
    assert await written(store, 2) == [
        ("a-1", 3, MoneyDeposited(amount=7)),
        ("a-1", 4, MoneyWithdrawn(amount=50)),
    ]
    assert (retry.attempts, retry.conflicts) == (2, 1)


async def test_a_retry_decides_again_so_a_rivals_withdrawal_can_make_it_an_overdraft(
    store: RacingStore,
) -> None:
    handlers = handlers_over(store, retry=eager_retry(3))
    await open_with(handlers, "a-1", 100)
    store.arm("a-1", "BankAccount", MoneyWithdrawn(amount=50))
    with pytest.raises(InsufficientFunds) as raised:
        await handlers.handle(c.Withdraw(account_id="a-1", amount=80))
    assert raised.value.message == "withdrawal of 80 exceeds the balance of 50"
    assert await written(store, 2) == [("a-1", 3, MoneyWithdrawn(amount=50))]


async def test_retries_give_up_after_the_last_attempt_with_the_last_conflict(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    retry = eager_retry(3)
    store.arm("a-1", "BankAccount", MoneyDeposited(amount=1), times=3)
    with pytest.raises(ConcurrencyError) as raised:
        await handlers_over(store, retry=retry).handle(c.Deposit(account_id="a-1", amount=5))
    assert (raised.value.expected, raised.value.actual) == (4, 5)
    assert [v for _, v, _ in await written(store, 2)] == [3, 4, 5]
    assert {e for _, _, e in await written(store, 2)} == {MoneyDeposited(amount=1)}
    assert (retry.attempts, retry.conflicts) == (3, 3)


async def test_a_pinned_command_that_loses_the_race_after_loading_is_not_retried(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    retry = eager_retry(5)
    pinned = c.Deposit(account_id="a-1", amount=1, expected_version=2)
    store.arm("a-1", "BankAccount", MoneyDeposited(amount=7))
    attempts, conflicts = tries("Deposit")
    with pytest.raises(ConcurrencyError) as raised:
        await handlers_over(store, retry=retry).handle(pinned)
    assert (raised.value.expected, raised.value.actual) == (2, 3)
    assert tries("Deposit") == (attempts + 1, conflicts + 1)
    assert (retry.attempts, retry.conflicts) == (1, 1)
    assert len(await store.load("a-1")) == 3


async def test_a_race_on_one_product_fails_the_whole_order_and_names_that_product(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await catalogue(handlers)
    store.arm("p-2", "Product", StockReceived(quantity=3))
    with pytest.raises(ConcurrencyError) as raised:
        await handlers.handle(place())
    assert (raised.value.aggregate_id, raised.value.expected, raised.value.actual) == (
        "p-2",
        1,
        2,
    )
    assert await written(store, 3) == [("p-2", 2, StockReceived(quantity=3))]


async def test_an_order_that_lost_a_race_on_a_product_is_placed_on_retry(
    store: RacingStore,
) -> None:
    handlers = handlers_over(store, retry=eager_retry(2))
    await catalogue(handlers)
    store.arm("p-2", "Product", StockReceived(quantity=3))
    result = await handlers.handle(place())
    assert result == CommandResult(aggregate_id="o-1", version=1, position=7)
    assert [(s, v) for s, v, _ in await written(store, 3)] == [
        ("p-2", 2),
        ("o-1", 1),
        ("p-1", 2),
        ("p-2", 3),
    ]
    assert await stock_of(handlers, "p-2") == (3, 0, {"o-1": 1})


async def test_an_if_matched_order_is_retried_when_the_race_is_on_a_product(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    """The If-Match pins the order only: a product that moved passes on retry."""
    await catalogue(handlers)
    retry = eager_retry(5)
    store.arm("p-2", "Product", StockReceived(quantity=3))
    pinned = c.PlaceOrder(
        order_id="o-1",
        customer_id="c-1",
        items=ITEMS,
        shipping_address="1 Main St",
        expected_version=0,
    )
    attempts, conflicts = tries("PlaceOrder")
    result = await handlers_over(store, retry=retry).handle(pinned)
    assert result == CommandResult(aggregate_id="o-1", version=1, position=7)
    assert tries("PlaceOrder") == (attempts + 2, conflicts + 1)
    assert (retry.attempts, retry.conflicts) == (2, 1)
    assert await stock_of(handlers, "p-2") == (3, 0, {"o-1": 1})


# Idempotency keys


def keyed(key: str, request_hash: str) -> KeyedCommand:
    def render(result: CommandResult) -> tuple[int, bytes]:
        body = {"id": result.aggregate_id, "version": result.version, "position": result.position}
        return 201, orjson.dumps(body)

    return KeyedCommand(key=key, request_hash=request_hash, render=render)


async def test_a_keyed_command_stores_its_answer_once_and_a_reused_key_appends_nothing(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    first = await handlers.handle(c.Deposit(account_id="a-1", amount=4), None, keyed("k-1", "h-1"))
    assert first == CommandResult(aggregate_id="a-1", version=3, position=3)
    answer = await store.stored_answer("k-1")
    assert answer is not None
    assert (answer.request_hash, answer.status) == ("h-1", 201)
    assert orjson.loads(answer.body) == {"id": "a-1", "version": 3, "position": 3}
    for command, request_hash in (
        (c.Deposit(account_id="a-1", amount=4), "h-1"),
        (c.Deposit(account_id="a-1", amount=9), "h-2"),
        (c.OpenAccount(account_id="a-2", owner_id="bo"), "h-3"),
    ):
        head = await store.head_position()
        with pytest.raises(KeyTaken):
            await handlers.handle(command, None, keyed("k-1", request_hash))
        assert await store.head_position() == head
    assert await store.stored_answer("k-1") == answer
    assert (await handlers.repository.load(BankAccount, "a-1")).state.balance == 104


async def test_a_refused_keyed_command_leaves_its_key_free(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    with pytest.raises(InsufficientFunds):
        await handlers.handle(c.Withdraw(account_id="a-1", amount=500), None, keyed("k-1", "h-1"))
    assert await store.stored_answer("k-1") is None
    result = await handlers.handle(
        c.Withdraw(account_id="a-1", amount=50), None, keyed("k-1", "h-2")
    )
    answer = await store.stored_answer("k-1")
    assert answer is not None and answer.request_hash == "h-2"
    assert orjson.loads(answer.body) == {
        "id": "a-1",
        "version": result.version,
        "position": result.position,
    }


async def test_a_keyed_command_that_lost_a_race_stores_only_its_retried_answer(
    store: RacingStore,
) -> None:
    off, on = handlers_over(store), handlers_over(store, retry=eager_retry(2))
    await open_with(off, "a-1", 100)
    store.arm("a-1", "BankAccount", MoneyDeposited(amount=7))
    with pytest.raises(ConcurrencyError):
        await off.handle(c.Deposit(account_id="a-1", amount=4), None, keyed("k-1", "h-1"))
    assert await store.stored_answer("k-1") is None
    store.arm("a-1", "BankAccount", MoneyDeposited(amount=7))
    result = await on.handle(c.Deposit(account_id="a-1", amount=4), None, keyed("k-1", "h-1"))
    assert result.version == 5
    answer = await store.stored_answer("k-1")
    assert answer is not None and orjson.loads(answer.body)["version"] == 5
    assert [v for _, v, _ in await written(store, 2)] == [3, 4, 5]


async def test_a_keyed_order_answers_with_the_orders_version_not_a_products(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await catalogue(handlers)
    result = await handlers.handle(place(), None, keyed("k-1", "h-1"))
    answer = await store.stored_answer("k-1")
    assert answer is not None and orjson.loads(answer.body) == {
        "id": "o-1",
        "version": 1,
        "position": 6,
    }
    assert (result.aggregate_id, result.version, result.position) == ("o-1", 1, 6)


# Snapshots


async def test_a_snapshot_is_taken_each_time_a_stream_crosses_a_multiple_of_n(
    store: RacingStore,
) -> None:
    handlers = handlers_over(store, snapshot_every=3)
    await handlers.handle(c.OpenAccount(account_id="a-1", owner_id="ada"))
    taken: list[tuple[int, int | None]] = []
    for amount in range(1, 8):
        result = await handlers.handle(c.Deposit(account_id="a-1", amount=amount))
        snapshot = await store.load_snapshot("a-1")
        taken.append((result.version, None if snapshot is None else snapshot.version))
    assert taken == [(2, None), (3, 3), (4, 3), (5, 3), (6, 6), (7, 6), (8, 6)]
    snapshot = await store.load_snapshot("a-1")
    assert snapshot is not None
    assert (snapshot.aggregate_type, snapshot.schema_version) == ("BankAccount", 1)
    state = decode_state(AccountState, snapshot.state)
    assert state == AccountState(opened=True, owner_id="ada", balance=sum(range(1, 6)))


async def test_rehydrating_from_the_snapshot_and_its_tail_equals_a_full_replay(
    store: RacingStore,
) -> None:
    handlers = handlers_over(store, snapshot_every=4)
    await open_with(handlers, "a-1", 100)
    for amount in (10, 20, 30):
        await handlers.handle(c.Withdraw(account_id="a-1", amount=amount))
    await handlers.handle(c.ReverseWithdrawal(account_id="a-1", withdrawal_version=4))
    await handlers.handle(c.Deposit(account_id="a-1", amount=5))
    rehydrated = await handlers.repository.rehydrate(BankAccount, "a-1")
    replayed = await Repository(store, None).load(BankAccount, "a-1")
    assert (rehydrated.snapshot_version, rehydrated.replayed_events) == (4, 3)
    assert rehydrated.aggregate.version == replayed.version == 7
    assert rehydrated.aggregate.state == replayed.state
    assert replayed.state.balance == 100 - 10 - 20 - 30 + 20 + 5
    with pytest.raises(InsufficientFunds) as raised:
        await handlers.handle(c.Withdraw(account_id="a-1", amount=66))
    assert raised.value.message == "withdrawal of 66 exceeds the balance of 65"


async def test_snapshots_ride_a_multi_stream_append_and_rehydrate_every_product(
    store: RacingStore,
) -> None:
    handlers = handlers_over(store, snapshot_every=2)
    await placed(handlers, c.ConfirmOrder(order_id="o-1"))
    snapshots = [await store.load_snapshot(s) for s in ("c-1", "p-1", "p-2", "o-1")]
    assert [None if s is None else s.version for s in snapshots] == [None, 2, 2, 2]
    await handlers.handle(c.CancelOrder(order_id="o-1", reason="late"))
    for product_id in ("p-1", "p-2"):
        rehydrated = await handlers.repository.rehydrate(Product, product_id)
        replayed = await Repository(store, None).load(Product, product_id)
        assert (rehydrated.snapshot_version, rehydrated.replayed_events) == (2, 1)
        assert rehydrated.aggregate.state == replayed.state
        assert replayed.state.reservations == {}
    assert await stock_of(handlers, "p-1") == (5, 0, {})


async def test_a_due_snapshot_is_not_kept_when_its_append_loses_the_race(
    store: RacingStore,
) -> None:
    handlers = handlers_over(store, snapshot_every=2)
    await handlers.handle(c.OpenAccount(account_id="a-1", owner_id="ada"))
    store.arm("a-1", "BankAccount", MoneyDeposited(amount=7))
    with pytest.raises(ConcurrencyError):
        await handlers.handle(c.Deposit(account_id="a-1", amount=5))
    assert await store.load_snapshot("a-1") is None


async def test_no_snapshot_is_taken_when_snapshots_are_off(
    handlers: CommandHandlers, store: RacingStore
) -> None:
    await open_with(handlers, "a-1", 100)
    for _ in range(200):
        await handlers.handle(c.Deposit(account_id="a-1", amount=1))
    assert await store.load_snapshot("a-1") is None
    rehydrated = await handlers.repository.rehydrate(BankAccount, "a-1")
    assert (rehydrated.snapshot_version, rehydrated.replayed_events) == (0, 202)


UNSPLITTABLE: dict[str, Callable[[int], bytes]] = {
    "no position": lambda p: b'{"id":"a-1"}',
    "twice": lambda p: b'{"from":%d,"to":%d}' % (p, p),
    "padded": lambda p: b'{"position":"%05d"}' % p,
}


@pytest.mark.parametrize("body", UNSPLITTABLE.values(), ids=UNSPLITTABLE.keys())
def test_an_answer_that_does_not_print_its_position_once_is_refused(
    body: Callable[[int], bytes],
) -> None:
    with pytest.raises(ValueError, match="print its position once"):
        IdempotencyRecord.rendering("k-1", "h-1", lambda p: (201, body(p)))


def test_a_record_rebuilds_the_body_at_any_position() -> None:
    def render(position: int) -> tuple[int, bytes]:
        return 201, orjson.dumps({"order_id": "o-1", "version": 2, "position": position})

    record = IdempotencyRecord.rendering("k-1", "h-1", render)
    assert (record.status, record.before, record.after) == (
        201,
        b'{"order_id":"o-1","version":2,"position":',
        b"}",
    )
    for position in (1, 9, 10, 123_456_789_012):
        assert record.body(position) == render(position)[1]
