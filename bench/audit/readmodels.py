"""The audit's checks of the read side: live documents against the reference models.

`docs` maps each read model to its live documents by id; `decoded` holds the streams as stored.
A missing document is reported once, by `read_model_<name>_matches_reference`; the version and
order checks look only at documents that exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.audit.checks import Check, DecodedStreams, named
from bench.audit.reference import (
    Fields,
    ReferenceModel,
    differences,
    expected_doc,
    shown,
)

FIELDS_SHOWN = 3
"""At most this many differing fields are spelled out for the first differing document."""

Docs = Mapping[str, Mapping[str, Fields]]


def streams_of(model: ReferenceModel, decoded: DecodedStreams) -> dict[str, Sequence[Any]]:
    """The non-empty streams a read model folds (those of its aggregate type)."""
    return {
        aggregate_id: events
        for aggregate_id, events in decoded.items()
        if events and events[0][0].aggregate_type == model.aggregate_type
    }


def _spelled(doc_id: str, expected: Fields, live: Fields, fields: Sequence[str]) -> str:
    parts = [
        f"{f} reference {shown(expected[f])} != live {shown(live.get(f))}"
        for f in fields[:FIELDS_SHOWN]
    ]
    more = f" and {len(fields) - FIELDS_SHOWN} more fields" if len(fields) > FIELDS_SHOWN else ""
    return f"{doc_id}: " + "; ".join(parts) + more


def matches_reference(model: ReferenceModel, decoded: DecodedStreams, docs: Docs) -> Check:
    """Every document equals, field by field, the reference fold of its whole stream."""
    live = docs.get(model.name, {})
    missing: list[str] = []
    differ: dict[str, tuple[Fields, Fields, list[str]]] = {}
    streams = streams_of(model, decoded)
    for aggregate_id, events in streams.items():
        doc = live.get(aggregate_id)
        if doc is None:
            missing.append(aggregate_id)
            continue
        expected = expected_doc(model, aggregate_id, events)
        if fields := differences(expected, doc):
            differ[aggregate_id] = (expected, doc, fields)
    detail = (
        f"{len(streams)} docs against the reference model: {len(missing)} missing,"
        f" {len(differ)} differ"
    )
    if missing:
        detail += "; missing: " + named(missing)
    if differ:
        first = min(differ)
        detail += f"; differ: {named(differ)} (first {_spelled(first, *differ[first])})"
    return Check(f"read_model_{model.name}_matches_reference", not missing and not differ, detail)


def versions_current(
    models: Sequence[ReferenceModel], decoded: DecodedStreams, docs: Docs
) -> Check:
    """Every document's `version` is its stream's last version."""
    stale: list[str] = []
    checked = 0
    for model in models:
        for aggregate_id, events in streams_of(model, decoded).items():
            doc = docs.get(model.name, {}).get(aggregate_id)
            if doc is None:
                continue
            checked += 1
            last = events[-1][0].version
            if doc.get("version") != last:
                stale.append(
                    f"{model.name}:{aggregate_id} (doc v{doc.get('version')}, stream v{last})"
                )
    detail = f"{checked} docs, {len(stale)} not at their stream's last version"
    if stale:
        detail += ": " + named(stale)
    return Check("versions_current", not stale, detail)


def out_of_order(
    model: ReferenceModel, aggregate_id: str, events: Sequence[Any], doc: Fields
) -> str | None:
    """Why `doc` is not what applying its stream in order up to its own version gives.

    In-order application leaves a document at version v holding the position of event v (the
    highest of events 1..v) and, in the fields the last event decides (`order_fields`), what
    the in-order fold of events 1..v gives. A document folded in another order, or stamped
    with another event's version or position, differs in one of them."""
    version = doc.get("version")
    if not isinstance(version, int) or not 1 <= version <= len(events):
        return None
    expected = expected_doc(model, aggregate_id, events[:version])
    fields = differences(expected, doc, ("position", *model.order_fields))
    if not fields:
        return None
    return _spelled(f"{model.name}:{aggregate_id} at v{version}", expected, doc, fields)


def applied_in_order(
    models: Sequence[ReferenceModel], decoded: DecodedStreams, docs: Docs
) -> Check:
    """Every document is the in-order fold of its stream up to its own version."""
    wrong: list[str] = []
    checked = 0
    for model in models:
        for aggregate_id, events in streams_of(model, decoded).items():
            doc = docs.get(model.name, {}).get(aggregate_id)
            if doc is None:
                continue
            checked += 1
            if (why := out_of_order(model, aggregate_id, events, doc)) is not None:
                wrong.append(why)
    detail = f"{checked} docs, {len(wrong)} not the in-order fold up to their version"
    if wrong:
        first = min(wrong)
        ids = [w.split(" at v", 1)[0] for w in wrong]
        detail += f": {named(ids)} (first {first})"
    return Check("applied_in_order", not wrong, detail)
