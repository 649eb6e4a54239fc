"""The audit row of the version probe (`bench/faults/versions.py`): no read model went back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.audit.checks import Check, named

CHECK = "read_models_never_went_back"


@dataclass(frozen=True)
class Regression:
    """A document read at a lower version than before (`after` None: it was gone)."""

    model: str
    doc_id: str
    before: int
    after: int | None
    t: float


def read_models_never_went_back(
    regressions: Sequence[Regression], *, documents: int, readings: int
) -> Check:
    """Passes when no sampled document's version ever decreased or vanished."""
    if regressions:
        first = regressions[0]
        detail = (
            f"{len(regressions)} backward reads, e.g. {first.model}/{first.doc_id} at version"
            f" {first.after} after {first.before}; documents: "
            + named(f"{r.model}/{r.doc_id}" for r in regressions)
        )
        return Check(CHECK, False, detail)
    if not documents:
        return Check(CHECK, False, f"the version probe read no document in {readings} readings")
    return Check(
        CHECK,
        True,
        f"{documents} documents read {readings} times (by read model); no version decreased",
    )
