"""Command handlers: load → decide → append, answering only where the events landed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from system.app.repository import Repository
from system.app.retry import RetryPolicy
from system.config import Settings
from system.domain import commands as c
from system.domain.account import BankAccount
from system.domain.aggregate import Aggregate
from system.domain.codec import decode_event
from system.domain.errors import ConcurrencyError, DomainError, NotFound
from system.domain.events import Event
from system.domain.order import Order
from system.domain.recorded import Metadata
from system.domain.reference import Customer, Product
from system.metrics import COMMAND_DURATION, COMMANDS
from system.ports import EventStore, IdempotencyRecord, KeyTaken, StreamAppend

A = TypeVar("A", bound=Aggregate[Any])
Change = tuple[Aggregate[Any], list[Event]]
Handler = Callable[[Any, Metadata | None], Awaitable["CommandResult"]]


class CommandResult(msgspec.Struct, frozen=True, kw_only=True):
    """The commanded aggregate's new version and the global position of the last event written."""

    aggregate_id: str
    version: int
    position: int


@dataclass(frozen=True)
class KeyedCommand:
    """An idempotency key, the request's hash and how to render the answer to store."""

    key: str
    request_hash: str
    render: Callable[[CommandResult], tuple[int, bytes]]


_KEYED: ContextVar[KeyedCommand | None] = ContextVar("keyed_command", default=None)
"""The key of the command being handled in this task (read by `_commit`, under every handler)."""

_PINNED: ContextVar[str | None] = ContextVar("pinned_stream", default=None)
"""The stream an If-Match pinned in the command being handled (set by `_load`)."""


def _on_pinned_stream(conflict: ConcurrencyError) -> bool:
    """A lost race on the stream If-Match pinned is final: a retry could only fail the same
    way. One on another stream the command also writes (an order's products) is retried."""
    return conflict.aggregate_id == _PINNED.get()


class CommandHandlers:
    """Routes each command type to its handler; retries lost races per the policy."""

    def __init__(
        self, store: EventStore, settings: Settings, retry: RetryPolicy | None = None
    ) -> None:
        self.store = store
        self.repository = Repository(store, settings.snapshot_every)
        self.retry = retry or RetryPolicy.off()
        self.handlers: dict[type[c.Command], Handler] = {
            c.OpenAccount: self.open_account,
            c.Deposit: self.deposit,
            c.Withdraw: self.withdraw,
            c.ReverseWithdrawal: self.reverse_withdrawal,
            c.CloseAccount: self.close_account,
            c.RegisterCustomer: self.register_customer,
            c.AddProduct: self.add_product,
            c.ReceiveStock: self.receive_stock,
            c.PlaceOrder: self.place_order,
            c.ConfirmOrder: self.confirm_order,
            c.ShipOrder: self.ship_order,
            c.DeliverOrder: self.deliver_order,
            c.CancelOrder: self.cancel_order,
        }

    async def handle(
        self,
        command: c.Command,
        metadata: Metadata | None = None,
        keyed: KeyedCommand | None = None,
    ) -> CommandResult:
        """Run one command; raises DomainError, NotFound or ConcurrencyError, writing nothing.

        With `keyed`, its rendered answer is stored under its key by the append's own statement;
        KeyTaken (nothing written) when another request stored one first.
        """
        name = type(command).__name__
        handler = self.handlers[type(command)]
        started = time.perf_counter()
        outcome = "error"
        token = _KEYED.set(keyed)
        try:
            pinned = _PINNED.set(None)
            try:
                result = await self.retry.run(
                    name, lambda: handler(command, metadata), final=_on_pinned_stream
                )
            finally:
                _PINNED.reset(pinned)
            outcome = "ok"
            return result
        except ConcurrencyError:
            outcome = "conflict"
            raise
        except KeyTaken:
            outcome = "replayed"
            raise
        except NotFound:
            outcome = "not_found"
            raise
        except DomainError:
            outcome = "rejected"
            raise
        finally:
            _KEYED.reset(token)
            COMMANDS.labels(name, outcome).inc()
            COMMAND_DURATION.labels(name).observe(time.perf_counter() - started)

    async def _load(
        self, cls: type[A], aggregate_id: str, expected: int | None, *, must_exist: bool = True
    ) -> A:
        aggregate = await self.repository.load(cls, aggregate_id)
        if must_exist and not aggregate.exists:
            raise NotFound(cls.aggregate_type, aggregate_id)
        if expected is not None:
            _PINNED.set(aggregate_id)
            if expected != aggregate.version:
                raise ConcurrencyError(aggregate_id, expected, aggregate.version)
        return aggregate

    async def _commit(self, changes: Sequence[Change], metadata: Metadata | None) -> CommandResult:
        """Append every change atomically; the first is the result.

        A due snapshot rides in the same statement (so it exists only if its events commit):
        measured +0.27 ms on a 3.5 ms median append, paid once every N events.
        """
        streams, snapshots = [], []
        for aggregate, events in changes:
            if not events:
                continue
            streams.append(
                StreamAppend(
                    aggregate_id=aggregate.id,
                    aggregate_type=aggregate.aggregate_type,
                    expected_version=aggregate.version,
                    events=events,
                )
            )
            if self.repository.snapshot_due(aggregate, aggregate.version + len(events)):
                aggregate.apply_all(events)
                snapshots.append(self.repository.snapshot(aggregate))
        head = streams[0].aggregate_id
        keyed = _KEYED.get()
        if keyed is None:
            result = await self.store.append(streams, metadata, snapshots=snapshots)
        else:
            version = streams[0].expected_version + len(streams[0].events)
            record = IdempotencyRecord.rendering(
                keyed.key,
                keyed.request_hash,
                lambda position: keyed.render(
                    CommandResult(aggregate_id=head, version=version, position=position)
                ),
            )
            result = await self.store.append(
                streams, metadata, snapshots=snapshots, idempotency=record
            )
        return CommandResult(
            aggregate_id=head, version=result.versions[head], position=result.position
        )

    async def _single(
        self,
        cls: type[A],
        aggregate_id: str,
        command: c.Command,
        metadata: Metadata | None,
        decide: Callable[[A], list[Event]],
        *,
        must_exist: bool = True,
    ) -> CommandResult:
        aggregate = await self._load(
            cls, aggregate_id, command.expected_version, must_exist=must_exist
        )
        return await self._commit([(aggregate, decide(aggregate))], metadata)

    async def open_account(self, cmd: c.OpenAccount, meta: Metadata | None) -> CommandResult:
        return await self._single(
            BankAccount, cmd.account_id, cmd, meta, lambda a: a.open(cmd.owner_id), must_exist=False
        )

    async def deposit(self, cmd: c.Deposit, meta: Metadata | None) -> CommandResult:
        return await self._single(
            BankAccount, cmd.account_id, cmd, meta, lambda a: a.deposit(cmd.amount)
        )

    async def withdraw(self, cmd: c.Withdraw, meta: Metadata | None) -> CommandResult:
        return await self._single(
            BankAccount, cmd.account_id, cmd, meta, lambda a: a.withdraw(cmd.amount)
        )

    async def reverse_withdrawal(
        self, cmd: c.ReverseWithdrawal, meta: Metadata | None
    ) -> CommandResult:
        account = await self._load(BankAccount, cmd.account_id, cmd.expected_version)
        recorded = await self.store.load_event(cmd.account_id, cmd.withdrawal_version)
        withdrawal = None if recorded is None else decode_event(recorded.event_type, recorded.data)
        events = account.reverse(cmd.withdrawal_version, withdrawal)
        return await self._commit([(account, events)], meta)

    async def close_account(self, cmd: c.CloseAccount, meta: Metadata | None) -> CommandResult:
        return await self._single(BankAccount, cmd.account_id, cmd, meta, lambda a: a.close())

    async def register_customer(
        self, cmd: c.RegisterCustomer, meta: Metadata | None
    ) -> CommandResult:
        return await self._single(
            Customer,
            cmd.customer_id,
            cmd,
            meta,
            lambda a: a.register(cmd.name, cmd.email),
            must_exist=False,
        )

    async def add_product(self, cmd: c.AddProduct, meta: Metadata | None) -> CommandResult:
        return await self._single(
            Product,
            cmd.product_id,
            cmd,
            meta,
            lambda a: a.add(cmd.name, cmd.price, cmd.stock),
            must_exist=False,
        )

    async def receive_stock(self, cmd: c.ReceiveStock, meta: Metadata | None) -> CommandResult:
        return await self._single(
            Product, cmd.product_id, cmd, meta, lambda a: a.receive(cmd.quantity)
        )

    async def place_order(self, cmd: c.PlaceOrder, meta: Metadata | None) -> CommandResult:
        order = await self._load(Order, cmd.order_id, cmd.expected_version, must_exist=False)
        customer = await self._load(Customer, cmd.customer_id, None)
        placed = order.place(cmd.customer_id, customer.state.name, cmd.items, cmd.shipping_address)
        products = await asyncio.gather(
            *(self._load(Product, item.product_id, None) for item in cmd.items)
        )
        changes: list[Change] = [(order, placed)]
        for product, item in zip(products, cmd.items, strict=True):
            changes.append((product, product.reserve(cmd.order_id, item.quantity)))
        return await self._commit(changes, meta)

    async def confirm_order(self, cmd: c.ConfirmOrder, meta: Metadata | None) -> CommandResult:
        return await self._single(Order, cmd.order_id, cmd, meta, lambda a: a.confirm())

    async def ship_order(self, cmd: c.ShipOrder, meta: Metadata | None) -> CommandResult:
        return await self._single(
            Order, cmd.order_id, cmd, meta, lambda a: a.ship(cmd.tracking_number)
        )

    async def deliver_order(self, cmd: c.DeliverOrder, meta: Metadata | None) -> CommandResult:
        order = await self._load(Order, cmd.order_id, cmd.expected_version)
        return await self._with_products(order, order.deliver(), Product.sell, meta)

    async def cancel_order(self, cmd: c.CancelOrder, meta: Metadata | None) -> CommandResult:
        order = await self._load(Order, cmd.order_id, cmd.expected_version)
        return await self._with_products(order, order.cancel(cmd.reason), Product.release, meta)

    async def _with_products(
        self,
        order: Order,
        events: list[Event],
        settle: Callable[[Product, str], list[Event]],
        meta: Metadata | None,
    ) -> CommandResult:
        """The order's events plus each product's settlement of its reservation, atomically."""
        products = await asyncio.gather(
            *(self._load(Product, item.product_id, None) for item in order.state.items)
        )
        changes: list[Change] = [(order, events)]
        changes.extend((product, settle(product, order.id)) for product in products)
        return await self._commit(changes, meta)
