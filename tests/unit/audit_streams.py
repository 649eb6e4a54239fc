"""Recorded streams for the audit's unit tests: events at known versions, positions and times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from bench.audit.reference import REFERENCE_MODELS, Fields, decode, expected_doc
from system.domain.codec import encode_event
from system.domain.events import Event
from system.domain.recorded import Metadata, RecordedEvent

T0 = datetime(2025, 3, 1, 23, 59, 59, tzinfo=UTC)
"""Version v is recorded at T0 + v seconds: version 1 lands on 2025-03-02 (UTC)."""


def at(version: int) -> datetime:
    return T0 + timedelta(seconds=version)


def stream(
    aggregate_id: str, events: Sequence[Event], positions: Sequence[int] | None = None
) -> list[RecordedEvent]:
    """The events as stored at versions 1..n, positions 10, 20, … unless given."""
    return [
        RecordedEvent(
            event_id=f"{aggregate_id}-{version}",
            aggregate_id=aggregate_id,
            aggregate_type=event.aggregate_type,
            version=version,
            position=positions[version - 1] if positions else version * 10,
            event_type=event.type_name(),
            schema_version=event.schema_version,
            data=encode_event(event),
            metadata=Metadata(),
            recorded_at=at(version),
        )
        for version, event in enumerate(events, start=1)
    ]


def as_json(doc: Fields) -> dict[str, Any]:
    """A document as Elasticsearch returns it (timestamps and days as strings)."""
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(doc))
    return decoded


def live_doc(name: str, events: list[RecordedEvent]) -> dict[str, Any]:
    """The document a correct projector holds for the stream."""
    return as_json(expected_doc(REFERENCE_MODELS[name], events[0].aggregate_id, decode(events)))
