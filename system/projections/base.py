"""What a projection is: a name, a topic, and pure folds from (doc, recorded event) to doc."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from system.domain.events import Event
from system.domain.recorded import Recorded
from system.ports import Doc

Fold = Callable[[Doc | None, Recorded[Any]], Doc]
"""(current doc or None, decoded event with its metadata) -> new doc; must not mutate its input."""


@dataclass(frozen=True)
class Projection:
    """A read model: one doc per aggregate of `aggregate_type`, folded from that stream alone."""

    name: str
    aggregate_type: str
    folds: dict[str, Fold]
    """Event type name -> fold. Types not listed leave the doc as it is (version still moves)."""
    empty: Callable[[Recorded[Event]], Doc]
    """The doc an update starts from when its stream has no creation event (streams written
    straight to the event store, e.g. by micro-benchmarks); folds never fail on them."""

    creators: frozenset[str] = frozenset()
    """Event types whose fold builds the doc from nothing."""

    def apply(self, doc: Doc | None, recorded: Recorded[Event]) -> Doc:
        """Fold one event; stamps `version` and `position` so every doc says how fresh it is."""
        event_type = recorded.event_type
        fold = self.folds.get(event_type)
        if doc is None and event_type not in self.creators:
            doc = self.empty(recorded)
        new = fold(doc, recorded) if fold is not None else copy(doc)
        new["version"] = recorded.version
        new["position"] = recorded.position
        return new


def copy(doc: Doc | None) -> Doc:
    """The doc to update (Projection.apply has already supplied an empty one if needed)."""
    assert doc is not None
    return dict(doc)


def timestamp(recorded: Recorded[Event]) -> str:
    """The event's record time as ISO-8601 (deterministic: a rebuild yields the same value)."""
    return recorded.recorded_at.isoformat()
