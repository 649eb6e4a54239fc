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


class ProjectionError(RuntimeError):
    """A projection cannot apply an event (e.g. the stream does not start with its creation)."""


@dataclass(frozen=True)
class Projection:
    """A read model: one doc per aggregate of `aggregate_type`, folded from that stream alone."""

    name: str
    aggregate_type: str
    folds: dict[str, Fold]
    """Event type name -> fold. Types not listed leave the doc as it is (version still moves)."""

    def apply(self, doc: Doc | None, envelope: Envelope, event: Event) -> Doc:
        """Fold one event; stamps `version` and `position` so every doc says how fresh it is."""
        fold = self.folds.get(envelope.event_type)
        if fold is not None:
            new = fold(doc, envelope, event)
        elif doc is not None:
            new = dict(doc)
        else:
            raise ProjectionError(
                f"{self.name}: stream {envelope.aggregate_id!r} starts with"
                f" {envelope.event_type} at version {envelope.version}, not a creation event"
            )
        new["version"] = envelope.version
        new["position"] = envelope.position
        return new


def require(doc: Doc | None, projection: str, envelope: Envelope) -> Doc:
    """The existing doc, copied; a fold that updates calls this instead of trusting `doc`."""
    if doc is None:
        raise ProjectionError(
            f"{projection}: {envelope.event_type} for {envelope.aggregate_id!r} before its creation"
        )
    return dict(doc)


def timestamp(envelope: Envelope) -> str:
    """The event's record time as ISO-8601 (deterministic: a rebuild yields the same value)."""
    return envelope.recorded_at.isoformat()
