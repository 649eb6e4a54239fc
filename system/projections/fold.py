"""One fold path for live projectors and rebuilds: a batch of recorded events onto the docs.

Whoever reads the events decodes them first (the projector's Kafka side, `arrivals.py`; a
rebuild, from the event store port); this module sees only domain events and their metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from system.domain.errors import VersionGapError
from system.domain.events import Event
from system.domain.recorded import Recorded
from system.ports import Doc
from system.projections.base import Projection


@dataclass
class Arrival:
    """A recorded event as it reached a projector, with the time its lag counts from."""

    recorded: Recorded[Event]
    origin: float | None = None
    """When it was committed (or, if `observed`, claimed by the relay), epoch seconds; None if
    unknown (a rebuild's events, a message without the header)."""
    observed: bool = False
    consumed_at: float = 0.0
    """When the batch holding it first reached the process (epoch seconds)."""


@dataclass
class Applied:
    """What one batch did: docs to write and the events behind them."""

    docs: list[tuple[str, int, Doc]] = field(default_factory=list)
    events: list[Arrival] = field(default_factory=list)
    duplicates: int = 0


def fold_batch(
    projection: Projection, current: Mapping[str, Doc], streams: Mapping[str, Sequence[Arrival]]
) -> Applied:
    """Fold each aggregate's new events onto its current doc; duplicates are skipped."""
    applied = Applied()
    for aggregate_id, arrivals in streams.items():
        doc = current.get(aggregate_id)
        version = doc["version"] if doc is not None else 0
        changed = False
        for arrival in arrivals:
            recorded = arrival.recorded
            if recorded.version <= version:
                applied.duplicates += 1
                continue
            if recorded.version != version + 1:
                raise VersionGapError(
                    f"{projection.name}: {aggregate_id!r} is at version {version},"
                    f" received version {recorded.version}"
                )
            doc = projection.apply(doc, recorded)
            version = recorded.version
            changed = True
            applied.events.append(arrival)
        if changed and doc is not None:
            applied.docs.append((aggregate_id, version, doc))
    return applied
