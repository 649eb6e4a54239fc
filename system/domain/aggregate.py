"""The aggregate base: state is a fold over events; command methods return new events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Generic, TypeVar

import msgspec

from system.domain.errors import InvalidValue
from system.domain.events import Event

S = TypeVar("S", bound=msgspec.Struct)

MAX_AMOUNT = 10**12
"""Largest single amount (minor units) a command accepts: guards against overflow and typos."""


class Aggregate(Generic[S]):
    """A consistency boundary rebuilt by folding its events into a state struct."""

    aggregate_type: ClassVar[str]
    state_type: ClassVar[type[msgspec.Struct]]
    state_schema_version: ClassVar[int] = 1
    """Bump when the state struct changes shape: older snapshots are then ignored."""

    def __init__(self, aggregate_id: str, state: S | None = None, version: int = 0) -> None:
        self.id = aggregate_id
        self.state: S = state if state is not None else self.initial_state()
        self.version = version

    def initial_state(self) -> S:
        """The state before any event."""
        raise NotImplementedError

    def evolve(self, event: Event) -> None:
        """Apply one event to `self.state` (mutating: folding 100k events must stay cheap)."""
        raise NotImplementedError

    def apply(self, event: Event) -> None:
        """Fold one event and advance the version."""
        self.evolve(event)
        self.version += 1

    def apply_all(self, events: Iterable[Event]) -> None:
        """Fold events in order (the replay hot path: one bound method, one version update)."""
        evolve = self.evolve
        count = 0
        for event in events:
            evolve(event)
            count += 1
        self.version += count

    @property
    def exists(self) -> bool:
        return self.version > 0


def require_positive(value: int, field: str, maximum: int = MAX_AMOUNT) -> None:
    """Reject non-positive or absurdly large integers with a message naming the field."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{field} must be an integer", field)
    if value <= 0:
        raise InvalidValue(f"{field} must be positive, got {value}", field)
    if value > maximum:
        raise InvalidValue(f"{field} must be at most {maximum}, got {value}", field)


def require_text(value: str, field: str, max_length: int = 500) -> str:
    """Reject blank or overlong text; returns it stripped."""
    stripped = value.strip()
    if not stripped:
        raise InvalidValue(f"{field} must not be empty", field)
    if len(stripped) > max_length:
        raise InvalidValue(f"{field} must be at most {max_length} characters", field)
    return stripped
