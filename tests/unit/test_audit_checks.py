"""The audit's checks, each proven by planting the fault it must catch."""

from __future__ import annotations

from typing import Any

from bench.audit.checks import (
    ConflictCounts,
    conflicts_counted,
    conflicts_genuine,
    positions_follow_versions,
)
from bench.audit.readmodels import applied_in_order, matches_reference, versions_current
from bench.audit.reference import REFERENCE_MODELS, decode
from bench.load.samples import Sample
from system.domain.events import (
    AccountOpened,
    MoneyDeposited,
    MoneyWithdrawn,
    OrderConfirmed,
    OrderDelivered,
    OrderItem,
    OrderPlaced,
    OrderShipped,
)
from tests.unit.audit_streams import at, live_doc, stream

BALANCE = REFERENCE_MODELS["account_balance"]
ORDERS = REFERENCE_MODELS["order_status"]
ITEMS = (OrderItem(product_id="p-1", quantity=1, price=500),)
ORDER = [
    OrderPlaced(
        customer_id="c-1", customer_name="Rahim", items=ITEMS, shipping_address="X", total=500
    ),
    OrderConfirmed(),
    OrderShipped(tracking_number="T-1"),
    OrderDelivered(items=ITEMS),
]
ACCOUNT = [AccountOpened(owner_id="o"), MoneyDeposited(amount=100), MoneyWithdrawn(amount=30)]


def account() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    events = stream("acct-1", ACCOUNT)
    return {"acct-1": decode(events)}, {
        "account_balance": {"acct-1": live_doc("account_balance", events)}
    }


def test_documents_equal_to_the_reference_pass_every_read_model_check() -> None:
    decoded, docs = account()
    assert matches_reference(BALANCE, decoded, docs).passed
    assert versions_current([BALANCE], decoded, docs).passed
    assert applied_in_order([BALANCE], decoded, docs).passed


def test_a_wrong_balance_is_named_with_its_id_and_field() -> None:
    decoded, docs = account()
    docs["account_balance"]["acct-1"]["balance"] = 130
    check = matches_reference(BALANCE, decoded, docs)
    assert not check.passed
    assert check.check == "read_model_account_balance_matches_reference"
    assert "differ: acct-1" in check.detail
    assert "balance reference 70 != live 130" in check.detail
    assert applied_in_order([BALANCE], decoded, docs).passed, "balance does not depend on order"


def test_a_missing_document_fails_only_the_reference_check() -> None:
    decoded, docs = account()
    del docs["account_balance"]["acct-1"]
    check = matches_reference(BALANCE, decoded, docs)
    assert not check.passed and "missing: acct-1" in check.detail
    assert versions_current([BALANCE], decoded, docs).passed
    assert applied_in_order([BALANCE], decoded, docs).passed


def test_a_document_behind_its_stream_is_named_with_both_versions() -> None:
    events = stream("acct-1", ACCOUNT)
    decoded = {"acct-1": decode(events)}
    docs = {"account_balance": {"acct-1": live_doc("account_balance", events[:2])}}
    check = versions_current([BALANCE], decoded, docs)
    assert not check.passed
    assert "account_balance:acct-1 (doc v2, stream v3)" in check.detail
    assert applied_in_order([BALANCE], decoded, docs).passed, "v2 is an in-order prefix"


def test_events_applied_out_of_order_are_caught_even_at_the_right_version_and_position() -> None:
    events = stream("ord-1", ORDER)
    shuffled = [events[0], events[1], events[3], events[2]]
    doc = live_doc("order_status", shuffled)
    doc.update(version=4, position=40)
    decoded = {"ord-1": decode(events)}
    docs = {"order_status": {"ord-1": doc}}
    assert versions_current([ORDERS], decoded, docs).passed
    check = applied_in_order([ORDERS], decoded, docs)
    assert not check.passed
    assert "order_status:ord-1" in check.detail
    assert "status reference 'delivered' != live 'shipped'" in check.detail
    assert not matches_reference(ORDERS, decoded, docs).passed


def test_a_document_stamped_with_an_earlier_events_position_is_out_of_order() -> None:
    events = stream("acct-1", ACCOUNT)
    decoded = {"acct-1": decode(events)}
    doc = live_doc("account_balance", events)
    doc["position"] = 20
    check = applied_in_order([BALANCE], decoded, {"account_balance": {"acct-1": doc}})
    assert not check.passed
    assert "position reference 30 != live 20" in check.detail


def test_a_stream_whose_positions_fall_as_versions_rise_is_named() -> None:
    good = stream("a", ACCOUNT)
    bad = stream("b", ACCOUNT, positions=[10, 30, 20])
    gap = stream("c", ACCOUNT)[:1] + stream("c", ACCOUNT)[2:]
    check = positions_follow_versions({"a": good, "b": bad, "c": gap})
    assert not check.passed
    assert "b (a later version at a lower position)" in check.detail
    assert "c (versions not 1..2)" in check.detail
    assert check.detail.startswith("3 streams, 2 out of order: ")


def conflict(
    expected: int | None,
    actual: int | None,
    finished: float,
    stream: str | None = None,
    stream_expected: int | None = None,
) -> Sample:
    return Sample(
        request="deposit",
        intended=finished - 0.01,
        sent=finished - 0.01,
        finished=finished,
        outcome="conflict",
        status=409,
        aggregate_id="acct-1",
        expected_version=expected,
        actual_version=actual,
        conflict_stream=stream,
        conflict_expected=stream_expected,
    )


def test_a_409_is_genuine_only_if_the_stream_was_past_if_match_before_the_answer() -> None:
    streams = {"acct-1": stream("acct-1", ACCOUNT)}
    after_v3 = at(3).timestamp() + 0.5
    genuine = [conflict(1, 3, after_v3), conflict(2, None, after_v3)]
    assert conflicts_genuine(genuine, streams).passed
    refuted = {
        "actual v2 not past expected v2": conflict(2, 2, after_v3),
        "stream never reached v4": conflict(2, 4, after_v3),
        "v3 was recorded": conflict(1, 3, at(3).timestamp() - 0.5),
        "v2 was recorded": conflict(1, None, at(2).timestamp() - 0.5),
        "no expected version recorded": conflict(None, 3, after_v3),
    }
    for reason, sample in refuted.items():
        check = conflicts_genuine([*genuine, sample], streams)
        assert not check.passed, reason
        assert f"acct-1 ({reason}" in check.detail
        assert "2 genuine at the moment they happened, 1 not" in check.detail


def test_a_409_on_another_stream_of_the_same_append_is_judged_on_that_stream() -> None:
    streams = {"acct-1": stream("acct-1", ACCOUNT), "prod-1": stream("prod-1", ACCOUNT)}
    after_v3 = at(3).timestamp() + 0.5
    without_if_match = conflict(None, 3, after_v3, stream="prod-1", stream_expected=2)
    check = conflicts_genuine([without_if_match], streams)
    assert check.passed, check.detail
    never = conflict(None, 9, after_v3, stream="prod-1", stream_expected=2)
    check = conflicts_genuine([never], streams)
    assert not check.passed
    assert "prod-1 (stream never reached v9" in check.detail


def test_conflict_counts_agree_only_when_all_three_counters_and_the_store_agree() -> None:
    streams = {"acct-1": stream("acct-1", ACCOUNT)}
    samples = [conflict(1, 3, at(3).timestamp() + 1)] * 2
    check = conflicts_counted(samples, streams, ConflictCounts(locust=2, api=2))
    assert check.passed
    assert check.detail == "409 conflicts: samples 2 (2 genuine), locust 2, API metric 2"
    assert not conflicts_counted(samples, streams, ConflictCounts(locust=2, api=3)).passed
