"""What a projection is: a name, a topic, and pure folds from (doc, envelope, event) to doc."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from system.bus.envelope import Envelope
from system.domain.events import Event

Doc = dict[str, Any]
Fold = Callable[[Doc | None, Envelope, Any], Doc]
"""(current doc or None, envelope, decoded event) -> new doc; must not mutate its input."""


@dataclass(frozen=True)
class Projection:
    """A read model: one doc per aggregate of `aggregate_type`, folded from that stream alone."""

    name: str
    aggregate_type: str
    folds: dict[str, Fold]
    """Event type name -> fold. Types not listed leave the doc as it is (version still moves)."""
    empty: Callable[[Envelope], Doc]
    """The doc an update starts from when its stream has no creation event (streams written
    straight to the event store, e.g. by micro-benchmarks); folds never fail on them."""

    creators: frozenset[str] = frozenset()
    """Event types whose fold builds the doc from nothing."""

    def apply(self, doc: Doc | None, envelope: Envelope, event: Event) -> Doc:
        """Fold one event; stamps `version` and `position` so every doc says how fresh it is."""
        fold = self.folds.get(envelope.event_type)
        if doc is None and envelope.event_type not in self.creators:
            doc = self.empty(envelope)
        new = fold(doc, envelope, event) if fold is not None else copy(doc)
        new["version"] = envelope.version
        new["position"] = envelope.position
        return new


def copy(doc: Doc | None) -> Doc:
    """The doc to update (Projection.apply has already supplied an empty one if needed)."""
    assert doc is not None
    return dict(doc)


def timestamp(envelope: Envelope) -> str:
    """The event's record time as ISO-8601 (deterministic: a rebuild yields the same value)."""
    return envelope.recorded_at.isoformat()
