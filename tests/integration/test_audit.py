"""The audit on the real stack catches what it must: a wrong projection fold, a live document
edited behind the system's back (then repaired), and events applied out of order."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path

import pytest

from bench.audit import Check, audit_streams
from system.app.commands import CommandHandlers
from system.bootstrap import open_read_store
from system.config import Settings
from system.domain import commands as c
from system.domain.codec import decode_recorded
from system.domain.events import MoneyWithdrawn, OrderItem
from system.domain.recorded import Recorded, RecordedEvent
from system.eventstore.postgres import PostgresEventStore
from system.projections import PROJECTIONS, Doc
from system.projections import runner as projector_runner
from system.readstore.elasticsearch import ElasticsearchReadStore
from tests.integration.readside_fixtures import (
    POSITION_TIMEOUT_S,
    Background,
    caught_up,
    isolated,
    new_id,
)

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).with_name("cqrs-bench"))


def by_name(checks: Sequence[Check]) -> dict[str, Check]:
    return {check.check: check for check in checks}


def failed(checks: Iterable[Check]) -> set[str]:
    return {check.check for check in checks if not check.passed}


@pytest.fixture
async def scratch(settings: Settings) -> AsyncIterator[ElasticsearchReadStore]:
    """A read store on a fresh index prefix, its indices dropped afterwards."""
    store = open_read_store(isolated(settings, "audit"))
    yield store
    for name in PROJECTIONS:
        for index in await store.aliased_indices(name):
            await store.delete_index(index)
    await store.delete_index(store.positions_index)
    await store.close()


def adds_withdrawals(doc: Doc | None, recorded: Recorded[MoneyWithdrawn]) -> Doc:
    """A planted bug: a withdrawal raises the balance."""
    assert doc is not None
    return {
        **doc,
        "balance": doc["balance"] + recorded.event.amount,
        "withdrawals": doc["withdrawals"] + 1,
        "last_updated": recorded.recorded_at.isoformat(),
    }


async def test_a_projection_with_a_wrong_fold_fails_the_audit_naming_the_model_and_id(
    settings: Settings,
    commands: CommandHandlers,
    event_store: PostgresEventStore,
    scratch: ElasticsearchReadStore,
    relay: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "account_balance"
    right = PROJECTIONS[name]
    wrong = dataclasses.replace(right, folds={**right.folds, "MoneyWithdrawn": adds_withdrawals})
    monkeypatch.setattr(projector_runner, "PROJECTIONS", {**PROJECTIONS, name: wrong})
    own = dataclasses.replace(settings, es_index_prefix=scratch.prefix)
    projector = Background()
    projector.start(projector_runner.run_projector(own, [name], projector.stop))
    account = new_id("acct")
    try:
        await commands.handle(c.OpenAccount(account_id=account, owner_id="o-1"))
        await commands.handle(c.Deposit(account_id=account, amount=100))
        last = await commands.handle(c.Withdraw(account_id=account, amount=30))
        await caught_up(scratch, last.position, [name])
        checks = by_name(await audit_streams(event_store, scratch, [account]))
    finally:
        await projector.close()
    check = checks["read_model_account_balance_matches_reference"]
    assert not check.passed
    assert f"differ: {account}" in check.detail
    assert "balance reference 70 != live 130" in check.detail
    assert failed(checks.values()) == {check.check}, "in order and current, only the fold is wrong"


async def test_cqrs_bench_audit_names_a_live_document_edited_behind_the_systems_back(
    settings: Settings,
    commands: CommandHandlers,
    tmp_path: Path,
) -> None:
    live = open_read_store(settings)
    account = new_id("acct")
    await commands.handle(c.OpenAccount(account_id=account, owner_id="o-1"))
    last = await commands.handle(c.Deposit(account_id=account, amount=100))
    await caught_up(live, last.position, ["account_balance"])
    index = live.alias("account_balance")
    original = (await live.mget(index, [account]))[account]
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "seed.json").write_text(json.dumps({"accounts": [{"id": account}]}))

    async def put(doc: Doc) -> None:
        await live.client.index(
            index=index,
            id=account,
            document=doc,
            version=doc["version"],
            version_type="external_gte",
            refresh=True,
        )

    try:
        await put({**original, "balance": 1_000_000})
        edited = await asyncio.to_thread(audit_cli, run_dir)
    finally:
        await put(original)
        await live.close()
    assert edited.returncode == 2, edited.stdout + edited.stderr
    assert (
        f"FAILED read_model_account_balance_matches_reference: 1 docs against the reference"
        f" model: 0 missing, 1 differ; differ: {account} (first {account}: balance reference 100"
        " != live 1000000)"
    ) in edited.stdout
    repaired = await asyncio.to_thread(audit_cli, run_dir)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "audit passed" in repaired.stdout


def audit_cli(run_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "audit", str(run_dir)], capture_output=True, text=True, timeout=300)


async def place_and_deliver(commands: CommandHandlers) -> str:
    customer, product, order = new_id("cust"), new_id("prod"), new_id("order")
    await commands.handle(c.RegisterCustomer(customer_id=customer, name="Rahim", email="r@x.io"))
    await commands.handle(c.AddProduct(product_id=product, name="Tea", price=250, stock=10))
    items = (OrderItem(product_id=product, quantity=2, price=250),)
    await commands.handle(
        c.PlaceOrder(order_id=order, customer_id=customer, items=items, shipping_address="X")
    )
    await commands.handle(c.ConfirmOrder(order_id=order))
    await commands.handle(c.ShipOrder(order_id=order, tracking_number="TRK-9"))
    await commands.handle(c.DeliverOrder(order_id=order))
    return order


def folded(name: str, events: Sequence[RecordedEvent]) -> Doc:
    doc: Doc | None = None
    for event in events:
        doc = PROJECTIONS[name].apply(doc, decode_recorded(event))
    assert doc is not None
    return doc


async def test_events_applied_out_of_order_fail_the_audit_even_at_the_right_version(
    commands: CommandHandlers,
    event_store: PostgresEventStore,
    scratch: ElasticsearchReadStore,
) -> None:
    order = await place_and_deliver(commands)
    events = await event_store.load(order)
    assert [e.event_type for e in events][2:] == ["OrderShipped", "OrderDelivered"]
    last = events[-1]
    names = ["order_status", "customer_orders", "revenue"]
    await scratch.ensure(names)
    shuffled = folded("order_status", [events[0], events[1], events[3], events[2]])
    shuffled.update(version=last.version, position=last.position)
    docs = {name: folded(name, events) for name in names} | {"order_status": shuffled}
    for name, doc in docs.items():
        await scratch.bulk_versioned(scratch.alias(name), [(order, last.version, doc)])
        await scratch.save_position(name, last.position)
    checks = by_name(
        await audit_streams(event_store, scratch, [order], catch_up_timeout_s=POSITION_TIMEOUT_S)
    )
    check = checks["applied_in_order"]
    assert not check.passed
    assert f"order_status:{order}" in check.detail
    assert "status reference 'delivered' != live 'shipped'" in check.detail
    assert checks["versions_current"].passed and checks["projections_caught_up"].passed
    assert failed(checks.values()) == {
        "applied_in_order",
        "read_model_order_status_matches_reference",
    }
