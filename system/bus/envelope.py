"""The Kafka wire format: one event per message, plus the relay's watermark control message.

An event message has key = aggregate id, value = an `Envelope` as JSON (the payload embedded
as JSON, not base64) and headers `kind=event` and the time its lag is measured from, epoch
seconds as ASCII: `committed_at` (the transaction's commit time, from PostgreSQL's commit
timestamps) or, where the server does not track them, `observed_at` (when the relay claimed
it). The ack time cannot travel in a header (headers are fixed before producing): the relay
records it in the outbox row instead. A watermark message has no key, value
`{"watermark": W}` and header `kind=watermark`: it promises that every event with
position <= W was acknowledged by Kafka before it, in every partition of every topic.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from system.domain.recorded import Metadata, RecordedEvent

TOPICS: dict[str, str] = {
    "BankAccount": "account-events",
    "Order": "order-events",
    "Customer": "customer-events",
    "Product": "product-events",
}
"""Aggregate type → Kafka topic."""

KIND_HEADER = "kind"
COMMITTED_AT_HEADER = "committed_at"
OBSERVED_AT_HEADER = "observed_at"
KIND_EVENT = b"event"
KIND_WATERMARK = b"watermark"


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded event as it travels through Kafka."""

    event_id: str
    aggregate_id: str
    aggregate_type: str
    version: int
    position: int
    event_type: str
    schema_version: int
    data: msgspec.Raw
    metadata: Metadata
    recorded_at: datetime


class Watermark(msgspec.Struct, frozen=True):
    """Every event with position <= `watermark` precedes this message in its partition."""

    watermark: int


_encoder = msgspec.json.Encoder()
_envelope_decoder = msgspec.json.Decoder(Envelope)
_watermark_decoder = msgspec.json.Decoder(Watermark)


def topic_for(aggregate_type: str, prefix: str = "") -> str:
    """The topic of an aggregate type; a prefix isolates a whole private read side (tests)."""
    return prefix + TOPICS[aggregate_type]


def topics(prefix: str = "") -> list[str]:
    return [prefix + topic for topic in TOPICS.values()]


def envelope_of(event: RecordedEvent) -> Envelope:
    return Envelope(
        event_id=event.event_id,
        aggregate_id=event.aggregate_id,
        aggregate_type=event.aggregate_type,
        version=event.version,
        position=event.position,
        event_type=event.event_type,
        schema_version=event.schema_version,
        data=msgspec.Raw(event.data),
        metadata=event.metadata,
        recorded_at=event.recorded_at,
    )


def encode(message: Envelope | Watermark) -> bytes:
    return _encoder.encode(message)


def decode_envelope(value: bytes) -> Envelope:
    return _envelope_decoder.decode(value)


def decode_watermark(value: bytes) -> Watermark:
    return _watermark_decoder.decode(value)
