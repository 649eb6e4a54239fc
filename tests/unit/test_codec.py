from __future__ import annotations

import msgspec
import pytest

from system.domain.account import AccountState
from system.domain.codec import (
    UnknownEventType,
    decode_event,
    decode_state,
    decode_stream,
    encode_event,
    encode_state,
)
from system.domain.events import (
    EVENT_TYPES,
    AccountClosed,
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
from system.domain.order import OrderState, OrderStatus
from system.domain.reference import ProductState

ITEMS = (OrderItem(product_id="p-1", quantity=2, price=150),)
SAMPLES: list[Event] = [
    AccountOpened(owner_id="owner-1"),
    MoneyDeposited(amount=10_000),
    MoneyWithdrawn(amount=3_000),
    WithdrawalReversed(withdrawal_version=3, amount=3_000),
    AccountClosed(),
    CustomerRegistered(name="Ada", email="ada@example.com"),
    ProductAdded(name="Widget", price=150, stock=10),
    StockReceived(quantity=5),
    StockReserved(order_id="o-1", quantity=2),
    StockReleased(order_id="o-1", quantity=2),
    StockSold(order_id="o-1", quantity=2),
    OrderPlaced(
        customer_id="c-1", customer_name="Ada", items=ITEMS, shipping_address="x", total=300
    ),
    OrderConfirmed(),
    OrderShipped(tracking_number="TRK"),
    OrderDelivered(items=ITEMS),
    OrderCancelled(reason="no", items=ITEMS),
]


def test_the_samples_cover_every_event_type() -> None:
    assert {type(e).__name__ for e in SAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_event_type_round_trips(event: Event) -> None:
    data = encode_event(event)
    assert decode_event(event.type_name(), data) == event
    assert decode_event(event.type_name(), data.decode()) == event


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_a_stored_payload_leads_with_its_type_tag_then_holds_the_fields(event: Event) -> None:
    data = encode_event(event)
    assert data.startswith(b'{"event_type":"' + event.type_name().encode() + b'"')
    assert list(msgspec.json.decode(data)) == ["event_type", *event.__struct_fields__]


def test_a_payload_tagged_with_another_type_does_not_decode_as_this_one() -> None:
    with pytest.raises(msgspec.ValidationError, match="MoneyDeposited"):
        decode_event("MoneyWithdrawn", b'{"event_type":"MoneyDeposited","amount":5}')


def test_an_untagged_payload_decodes_as_its_rows_type() -> None:
    assert decode_event("MoneyDeposited", b'{"amount":5}') == MoneyDeposited(amount=5)


def test_a_stream_of_stored_payloads_decodes_in_one_call() -> None:
    stored = b"[" + b",".join(encode_event(e) for e in SAMPLES) + b"]"
    assert decode_stream(stored) == SAMPLES


def test_a_stream_of_tagged_payloads_decodes_in_one_call() -> None:
    tagged = msgspec.json.encode(SAMPLES)
    assert b'{"event_type":"OrderConfirmed"}' in tagged
    assert decode_stream(tagged) == SAMPLES
    assert decode_stream(tagged.decode()) == SAMPLES
    assert decode_stream("[]") == []


def test_a_stream_naming_an_unknown_type_does_not_decode() -> None:
    with pytest.raises(msgspec.ValidationError, match="Nope"):
        decode_stream('[{"event_type":"Nope","amount":5}]')


def test_an_unknown_event_type_is_a_clear_error() -> None:
    with pytest.raises(UnknownEventType, match="Nope"):
        decode_event("Nope", b"{}")


@pytest.mark.parametrize(
    "state",
    [
        AccountState(opened=True, owner_id="o", balance=7, reversed_versions=[3]),
        OrderState(status=OrderStatus.SHIPPED, customer_id="c", items=ITEMS, total=300),
        ProductState(name="W", price=1, stock=3, reservations={"o-1": 2}),
    ],
)
def test_aggregate_states_round_trip_for_snapshots(state: object) -> None:
    assert decode_state(type(state), encode_state(state)) == state  # type: ignore[arg-type]
