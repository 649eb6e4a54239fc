"""Builds envelopes for one stream, decodes them as the projector's Kafka side does, and folds
them through a projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from system.bus.envelope import Envelope
from system.domain.codec import decode_recorded, encode_event
from system.domain.events import Event
from system.domain.recorded import Metadata, Recorded
from system.projections import Doc, Projection

T0 = datetime(2025, 3, 1, 23, 59, 59, tzinfo=UTC)


def envelope(
    aggregate_id: str, version: int, event: Event, position: int | None = None
) -> Envelope:
    return Envelope(
        event_id=f"{aggregate_id}-{version}",
        aggregate_id=aggregate_id,
        aggregate_type=event.aggregate_type,
        version=version,
        position=position if position is not None else version * 10,
        event_type=event.type_name(),
        schema_version=event.schema_version,
        data=msgspec.Raw(encode_event(event)),
        metadata=Metadata(),
        recorded_at=T0 + timedelta(seconds=version),
    )


def recorded(
    aggregate_id: str, version: int, event: Event, position: int | None = None
) -> Recorded[Event]:
    return decode_recorded(envelope(aggregate_id, version, event, position))


def fold(projection: Projection, aggregate_id: str, events: list[Event]) -> Doc | None:
    doc: Doc | None = None
    for version, event in enumerate(events, start=1):
        doc = projection.apply(doc, recorded(aggregate_id, version, event))
    return doc
