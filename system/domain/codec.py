"""Explicit, fast serialisation of events and aggregate state (msgspec JSON)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from system.domain.events import EVENT_TYPES, AnyEvent, Event
from system.domain.recorded import EncodedRecord, Recorded

_encoder = msgspec.json.Encoder()
_decoders: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(cls) for name, cls in EVENT_TYPES.items()
}
_stream_decoder = msgspec.json.Decoder(list[AnyEvent])


class UnknownEventType(ValueError):
    """A stored event names a type this code does not know."""


def encode_event(event: Event) -> bytes:
    """The event's payload as compact JSON, its type name first as msgspec's tag:
    `{"event_type":"MoneyDeposited","amount":5}`.

    The tag repeats the row's `event_type` column so that replay can hand PostgreSQL's rows
    straight to `decode_stream` (splicing it in per row cost PostgreSQL 2.2 ms per 10,000
    events); decoding one payload as its own type checks that the two agree.
    """
    return _encoder.encode(event)


def decode_event(event_type: str, data: bytes | str | msgspec.Raw) -> Event:
    """Rebuild a typed event from its type name and JSON payload; a payload whose tag names
    another type raises `msgspec.ValidationError` (one without a tag, as stored before the
    tag was, decodes all the same)."""
    try:
        decoder = _decoders[event_type]
    except KeyError:
        raise UnknownEventType(f"unknown event type {event_type!r}") from None
    event: Event = decoder.decode(data)
    return event


def decode_recorded(row: EncodedRecord) -> Recorded[Event]:
    """A recorded event decoded, with its identity, order and record time: the one mapping
    from a stored row or a Kafka envelope to what projections fold."""
    return Recorded(
        event=decode_event(row.event_type, row.data),
        event_id=row.event_id,
        aggregate_id=row.aggregate_id,
        aggregate_type=row.aggregate_type,
        version=row.version,
        position=row.position,
        metadata=row.metadata,
        recorded_at=row.recorded_at,
    )


def decode_events(rows: Iterable[tuple[str, bytes | str]]) -> list[Event]:
    """Rebuild a stream's events from (event_type, payload) pairs, in order, naming an unknown
    type: the row-by-row path for what `decode_stream` cannot take."""
    decoders = _decoders
    try:
        return [decoders[event_type].decode(data) for event_type, data in rows]
    except KeyError as exc:
        raise UnknownEventType(f"unknown event type {exc.args[0]!r}") from None


def decode_stream(encoded: str | bytes) -> list[AnyEvent]:
    """A stream's events from one JSON array of their payloads, each tagged with its type
    (`{"event_type": "MoneyDeposited", "amount": 5}`), in order.

    Replay's hot path: one call decodes the whole array as a tagged union, straight into the
    event types. Raises `msgspec.DecodeError` (or its `ValidationError`) for anything else.
    """
    return _stream_decoder.decode(encoded)


def encode_state(state: msgspec.Struct) -> bytes:
    """An aggregate state as JSON, for snapshots."""
    return _encoder.encode(state)


def decode_state(state_type: type[msgspec.Struct], data: bytes | str) -> Any:
    """Rebuild an aggregate state from a snapshot."""
    return msgspec.json.decode(data, type=state_type)
