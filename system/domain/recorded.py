"""An event as the store recorded it: payload plus identity, order and provenance."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Metadata(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Provenance carried with every event."""

    correlation_id: str | None = None
    causation_id: str | None = None
    user_id: str | None = None


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the event store; `data` is the encoded payload (see `codec`)."""

    event_id: str
    aggregate_id: str
    aggregate_type: str
    version: int
    position: int
    event_type: str
    schema_version: int
    data: bytes
    metadata: Metadata
    recorded_at: datetime
