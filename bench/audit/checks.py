"""The audit's checks of the write side and of the client's record: pure functions of the
streams (as stored) and the raw samples, each returning one `Check` row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from bench.audit.reference import Decoded
from bench.load.samples import Sample
from system.domain.events import (
    MoneyDeposited,
    MoneyWithdrawn,
    ProductAdded,
    StockReceived,
    StockReleased,
    StockReserved,
    WithdrawalReversed,
)
from system.domain.recorded import RecordedEvent

SHOWN = 5
"""At most this many offending ids are named in a row's detail."""

Streams = Mapping[str, Sequence[RecordedEvent]]
DecodedStreams = Mapping[str, Sequence[Decoded]]


@dataclass(frozen=True)
class Check:
    """One audit row: `check`, `passed`, `detail` (results.json's `audit` section)."""

    check: str
    passed: bool
    detail: str

    def row(self) -> dict[str, Any]:
        return {"check": self.check, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class ConflictCounts:
    """409 version conflicts as counted by locust's stats and by the API's own metric."""

    locust: int
    api: int


def named(ids: Iterable[str]) -> str:
    """The first `SHOWN` ids, sorted, and how many more there are."""
    ids = sorted(ids)
    more = f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else ""
    return ", ".join(ids[:SHOWN]) + more


def acknowledged_in_store(samples: Iterable[Sample], streams: Streams) -> Check:
    """Every command the API acknowledged with a version is in the store at that version."""
    missing: list[str] = []
    acked = 0
    for s in samples:
        if s.outcome == "ok" and s.aggregate_id and s.version is not None:
            acked += 1
            events = streams.get(s.aggregate_id, [])
            if len(events) < s.version or events[s.version - 1].version != s.version:
                missing.append(f"{s.aggregate_id}@{s.version}")
    detail = f"{acked} acknowledged commands, {len(missing)} missing"
    if missing:
        detail += ": " + named(missing)
    return Check("acknowledged_commands_stored", not missing, detail)


def positions_follow_versions(streams: Streams) -> Check:
    """In each stream, versions run 1..n and global positions rise with them.

    Projectors follow the global position; this is what makes "applied in position order"
    mean "applied in version order" for every stream. The UNIQUE(aggregate_id, version)
    constraint alone guarantees neither (a gap, or a later version at a lower position)."""
    broken: list[str] = []
    for aggregate_id, events in streams.items():
        versions = [e.version for e in events]
        positions = [e.position for e in events]
        if versions != list(range(1, len(events) + 1)):
            broken.append(f"{aggregate_id} (versions not 1..{len(events)})")
        elif any(a >= b for a, b in pairwise(positions)):
            broken.append(f"{aggregate_id} (a later version at a lower position)")
    detail = f"{len(streams)} streams, {len(broken)} out of order"
    if broken:
        detail += ": " + named(broken)
    return Check("positions_follow_versions", not broken, detail)


def balances_never_negative(decoded: DecodedStreams) -> Check:
    """No account's balance went below zero at any version (the no-overdraft rule held)."""
    bad: list[str] = []
    accounts = 0
    for aggregate_id, events in decoded.items():
        if not events or events[0][0].aggregate_type != "BankAccount":
            continue
        accounts += 1
        balance = 0
        for recorded, event in events:
            match event:
                case MoneyDeposited(amount=a) | WithdrawalReversed(amount=a):
                    balance += a
                case MoneyWithdrawn(amount=a):
                    balance -= a
            if balance < 0:
                bad.append(f"{aggregate_id}@{recorded.version}")
                break
    detail = f"{accounts} accounts, {len(bad)} went below zero"
    if bad:
        detail += ": " + named(bad)
    return Check("balance_never_negative", not bad, detail)


def stock_never_negative(decoded: DecodedStreams) -> Check:
    """No product ever had more units reserved than it had available."""
    bad: list[str] = []
    products = 0
    for aggregate_id, events in decoded.items():
        if not events or events[0][0].aggregate_type != "Product":
            continue
        products += 1
        stock = 0
        for recorded, event in events:
            match event:
                case ProductAdded(stock=q) | StockReceived(quantity=q) | StockReleased(quantity=q):
                    stock += q
                case StockReserved(quantity=q):
                    stock -= q
            if stock < 0:
                bad.append(f"{aggregate_id}@{recorded.version}")
                break
    detail = f"{products} products, {len(bad)} with stock below zero"
    if bad:
        detail += ": " + named(bad)
    return Check("stock_never_negative", not bad, detail)


def conflict_refuted(sample: Sample, streams: Streams) -> str | None:
    """Why a 409 sample was not a genuine conflict at the moment it happened (None: it was).

    Genuine: the refused stream had moved past the version the append expected before the 409
    came back. The API names the refused stream (an order's command also appends to its
    products' streams), the version its append expected (the If-Match, or what the command
    read) and the version it met: the met version must be ahead of the expected one, and the
    store must hold it, recorded before the answer. Without those fields (an older API) the
    command's own stream must hold If-Match + 1 by then."""
    stream = sample.conflict_stream or sample.aggregate_id
    expected = (
        sample.conflict_expected
        if sample.conflict_expected is not None
        else sample.expected_version
    )
    actual = sample.actual_version
    if not stream or expected is None:
        return "no expected version recorded (no If-Match and an API without expected_version)"
    if actual is not None and actual <= expected:
        return f"actual v{actual} not past expected v{expected}"
    target = actual if actual is not None else expected + 1
    events = streams.get(stream, [])
    if len(events) < target:
        return f"stream never reached v{target} (If-Match v{expected})"
    late = events[target - 1].recorded_at.timestamp() - sample.finished
    if late > 0:
        return f"v{target} was recorded {late:.3f}s after the 409 (If-Match v{expected})"
    return None


def conflicts_genuine(samples: Iterable[Sample], streams: Streams) -> Check:
    """Each 409 was genuine when it happened (see `conflict_refuted`)."""
    conflicts = [s for s in samples if s.outcome == "conflict"]
    refuted = [
        f"{s.conflict_stream or s.aggregate_id} ({why})"
        for s in conflicts
        if (why := conflict_refuted(s, streams)) is not None
    ]
    with_actual = sum(1 for s in conflicts if s.actual_version is not None)
    detail = (
        f"{len(conflicts)} 409 conflicts ({with_actual} with actual_version):"
        f" {len(conflicts) - len(refuted)} genuine at the moment they happened"
    )
    if refuted:
        detail += f", {len(refuted)} not: " + named(refuted)
    return Check("conflicts_genuine", not refuted, detail)


def conflicts_counted(samples: Iterable[Sample], streams: Streams, counts: ConflictCounts) -> Check:
    """The samples, locust and the API counted the same number of 409s, all of them genuine."""
    conflicts = [s for s in samples if s.outcome == "conflict"]
    genuine = sum(1 for s in conflicts if conflict_refuted(s, streams) is None)
    passed = genuine == len(conflicts) == counts.locust == counts.api
    detail = (
        f"409 conflicts: samples {len(conflicts)} ({genuine} genuine), locust {counts.locust},"
        f" API metric {counts.api}"
    )
    return Check("conflicts_counted_identically", passed, detail)
