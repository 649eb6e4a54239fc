"""The audit's reference models against hand-computed documents, and their independence."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bench.audit.reference import REFERENCE_MODELS, decode, differences, expected_doc, same
from system.domain.codec import decode_recorded
from system.domain.events import (
    AccountClosed,
    AccountOpened,
    Event,
    MoneyDeposited,
    MoneyWithdrawn,
    OrderCancelled,
    OrderConfirmed,
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
from system.projections import PROJECTIONS, Doc
from tests.unit.audit_streams import as_json, at, stream

AUDIT_PACKAGE = Path(__file__).resolve().parents[2] / "bench" / "audit"

ITEMS = (
    OrderItem(product_id="p-1", quantity=4, price=250),
    OrderItem(product_id="p-2", quantity=1, price=100),
)
PLACED = OrderPlaced(
    customer_id="c-1", customer_name="Rahim", items=ITEMS, shipping_address="Dhaka", total=1100
)
ACCOUNT = [
    AccountOpened(owner_id="o-1"),
    MoneyDeposited(amount=100),
    MoneyWithdrawn(amount=30),
    WithdrawalReversed(withdrawal_version=3, amount=30),
    MoneyDeposited(amount=5),
    AccountClosed(),
]
SHIPPED = [PLACED, OrderConfirmed(), OrderShipped(tracking_number="TRK-1")]
CANCELLED = [PLACED, OrderCancelled(reason="changed mind", items=ITEMS)]
PRODUCT = [
    ProductAdded(name="Tea", price=250, stock=10),
    StockReceived(quantity=5),
    StockReserved(order_id="o-1", quantity=4),
    StockReleased(order_id="o-1", quantity=1),
    StockReserved(order_id="o-2", quantity=2),
    StockSold(order_id="o-2", quantity=2),
]


def expected(name: str, aggregate_id: str, events: list[Event]) -> dict[str, object]:
    return expected_doc(REFERENCE_MODELS[name], aggregate_id, decode(stream(aggregate_id, events)))


def test_an_account_balance_is_deposits_minus_withdrawals_plus_reversals() -> None:
    assert expected("account_balance", "a-1", ACCOUNT) == {
        "account_id": "a-1",
        "owner_id": "o-1",
        "balance": 105,
        "status": "closed",
        "deposits": 2,
        "withdrawals": 1,
        "reversals": 1,
        "opened_at": at(1),
        "last_updated": at(6),
        "version": 6,
        "position": 60,
    }


def test_an_account_stream_without_its_opening_starts_from_an_empty_open_account() -> None:
    doc = expected("account_balance", "a-2", [MoneyDeposited(amount=50)])
    assert (doc["owner_id"], doc["balance"], doc["status"], doc["opened_at"]) == (
        None,
        50,
        "open",
        None,
    )
    assert (doc["deposits"], doc["last_updated"], doc["version"]) == (1, at(1), 1)


def test_an_order_status_carries_its_items_milestones_and_tracking_number() -> None:
    assert expected("order_status", "o-1", SHIPPED) == {
        "order_id": "o-1",
        "customer_id": "c-1",
        "customer_name": "Rahim",
        "status": "shipped",
        "total": 1100,
        "item_count": 2,
        "items": [
            {"product_id": "p-1", "quantity": 4, "price": 250},
            {"product_id": "p-2", "quantity": 1, "price": 100},
        ],
        "shipping_address": "Dhaka",
        "tracking_number": "TRK-1",
        "placed_at": at(1),
        "confirmed_at": at(2),
        "shipped_at": at(3),
        "delivered_at": None,
        "cancelled_at": None,
        "last_updated": at(3),
        "version": 3,
        "position": 30,
    }


def test_a_cancelled_order_leaves_the_revenue_of_its_utc_placement_day() -> None:
    assert expected("revenue", "o-2", CANCELLED) == {
        "order_id": "o-2",
        "day": at(1).date(),
        "total": 1100,
        "counted": False,
        "version": 2,
        "position": 20,
    }
    assert at(1).date().isoformat() == "2025-03-02"
    assert expected("revenue", "o-3", [PLACED])["counted"] is True
    history = expected("customer_orders", "o-2", CANCELLED)
    assert (history["status"], history["placed_at"], history["total"]) == (
        "cancelled",
        at(1),
        1100,
    )


def test_inventory_counts_received_reserved_and_sold_units() -> None:
    doc = expected("inventory", "p-1", PRODUCT)
    assert {k: doc[k] for k in ("on_hand", "reserved", "sold", "remaining")} == {
        "on_hand": 15,
        "reserved": 3,
        "sold": 2,
        "remaining": 10,
    }
    assert (doc["name"], doc["price"], doc["last_updated"], doc["position"]) == (
        "Tea",
        250,
        at(6),
        60,
    )


def test_a_document_position_is_the_highest_of_its_stream_positions() -> None:
    events = stream("a-3", ACCOUNT[:3], positions=[5, 7, 40])
    doc = expected_doc(REFERENCE_MODELS["account_balance"], "a-3", decode(events))
    assert (doc["version"], doc["position"]) == (3, 40)


@pytest.mark.parametrize(
    ("name", "events"),
    [
        ("account_balance", ACCOUNT),
        ("account_balance", [MoneyDeposited(amount=50), MoneyWithdrawn(amount=20)]),
        ("order_status", SHIPPED),
        ("order_status", CANCELLED),
        ("customer_orders", SHIPPED),
        ("revenue", CANCELLED),
        ("inventory", PRODUCT),
    ],
)
def test_the_projections_agree_with_the_reference_on_legal_streams(
    name: str, events: list[Event]
) -> None:
    recorded = stream("x-1", events)
    doc: Doc | None = None
    for event in recorded:
        doc = PROJECTIONS[name].apply(doc, decode_recorded(event))
    assert doc is not None
    reference = expected_doc(REFERENCE_MODELS[name], "x-1", decode(recorded))
    assert differences(reference, as_json(doc)) == []


def test_every_projection_has_a_reference_model_over_the_same_aggregate_type() -> None:
    assert {n: m.aggregate_type for n, m in REFERENCE_MODELS.items()} == {
        n: p.aggregate_type for n, p in PROJECTIONS.items()
    }


def test_timestamps_compare_as_instants_and_booleans_are_not_numbers() -> None:
    assert same(at(1), "2025-03-02T00:00:00Z")
    assert same(at(1), "2025-03-02T06:00:00+06:00")
    assert not same(at(1), "2025-03-02T00:00:00")
    assert not same(at(1), "2025-03-02T00:00:01Z")
    assert not same(at(1), None)
    assert same(at(1).date(), "2025-03-02")
    assert not same(True, 1) and not same(0, False)
    assert differences({"a": 1, "b": 2}, {"a": 1, "b": 3, "_lag": {"x": 1}}) == ["b"]


def test_the_audit_package_imports_nothing_from_the_projections() -> None:
    for path in sorted(AUDIT_PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.startswith("system.projections") for n in names), path.name
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bench.audit, bench.cli.audit;"
            " print(sorted(m for m in sys.modules if m.startswith('system.projections')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
