"""An event as the store recorded it: payload plus identity, order and provenance."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Protocol, TypeVar

import msgspec

from system.domain.events import Event

E = TypeVar("E", bound=Event, covariant=True)


class Metadata(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Provenance carried with every event."""

    correlation_id: str | None = None
    causation_id: str | None = None
    user_id: str | None = None


class EncodedRecord(Protocol):
    """Anything that carries a recorded event with its payload still encoded: a stored row
    (`RecordedEvent`) or a Kafka envelope (`system.bus.envelope.Envelope`)."""

    @property
    def event_id(self) -> str: ...
    @property
    def aggregate_id(self) -> str: ...
    @property
    def aggregate_type(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def event_type(self) -> str: ...
    @property
    def data(self) -> bytes | msgspec.Raw: ...
    @property
    def metadata(self) -> Metadata: ...
    @property
    def recorded_at(self) -> datetime: ...


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


class Recorded(msgspec.Struct, Generic[E], frozen=True, kw_only=True):
    """A decoded domain event with where and when it was recorded: what projections fold.

    `RecordedEvent` is the stored row (payload still encoded); whoever reads the rows (the
    event store's followers, the projector's Kafka consumer) decodes them into this.
    """

    event: E
    event_id: str
    aggregate_id: str
    aggregate_type: str
    version: int
    position: int
    metadata: Metadata
    recorded_at: datetime

    @property
    def event_type(self) -> str:
        """The event's type name (as stored beside its payload)."""
        return self.event.type_name()
