"""The projector's Kafka side: consumed messages decoded into recorded events and watermarks.

The only place on the read side that knows the wire format (`system/bus/envelope.py`); what
it hands on (`Arrival`s grouped by aggregate) is what `fold.py` folds, live or rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from system.bus.envelope import (
    COMMITTED_AT_HEADER,
    KIND_HEADER,
    KIND_WATERMARK,
    OBSERVED_AT_HEADER,
    Envelope,
    decode_envelope,
    decode_watermark,
)
from system.domain.codec import decode_recorded
from system.projections.fold import Arrival
from system.projections.pipeline import Received


def arrival(envelope: Envelope, headers: Mapping[str, bytes], consumed_at: float = 0.0) -> Arrival:
    """The arrival of an event message, its lag origin taken from its headers."""
    recorded = decode_recorded(envelope)
    committed = headers.get(COMMITTED_AT_HEADER)
    if committed is not None:
        return Arrival(recorded, float(committed), consumed_at=consumed_at)
    observed = headers.get(OBSERVED_AT_HEADER)
    if observed is not None:
        return Arrival(recorded, float(observed), observed=True, consumed_at=consumed_at)
    return Arrival(recorded, consumed_at=consumed_at)


def decode_received(
    received: Sequence[Received],
) -> tuple[dict[str, list[Arrival]], dict[Any, int]]:
    """Received batches as arrivals per aggregate (each keeping the time its batch was first
    received) and the last (highest) watermark seen per partition."""
    streams: dict[str, list[Arrival]] = {}
    seen: dict[Any, int] = {}
    for item in received:
        for tp, records in item.batch.items():
            for record in records:
                headers = dict(record.headers)
                if headers.get(KIND_HEADER) == KIND_WATERMARK:
                    seen[tp] = decode_watermark(record.value).watermark
                    continue
                env = decode_envelope(record.value)
                found = arrival(env, headers, item.consumed_at)
                streams.setdefault(env.aggregate_id, []).append(found)
    return streams, seen
