"""Consistency audit after a run: what was acknowledged is stored, and the read side is exact.

The audit covers the run's footprint: every stream the run seeded or sent a command to,
whole (other writers sharing the stack do not make it fail).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from bench.load.samples import Sample
from system.bus.envelope import envelope_of
from system.domain.codec import decode_event
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
from system.eventstore.postgres import PostgresEventStore
from system.projections import PROJECTIONS, Doc
from system.readstore.elasticsearch import ElasticsearchReadStore

LOAD_CONCURRENCY = 16
MGET_BATCH = 500
SHOWN = 5
"""At most this many offending ids are named in a row's detail."""


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


def _named(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    more = f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else ""
    return ", ".join(ids[:SHOWN]) + more


def acknowledged_in_store(
    samples: Iterable[Sample], streams: Mapping[str, list[RecordedEvent]]
) -> Check:
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
        detail += ": " + _named(missing)
    return Check("acknowledged_commands_stored", not missing, detail)


def versions_gap_free(streams: Mapping[str, list[RecordedEvent]]) -> Check:
    broken = [
        aggregate_id
        for aggregate_id, events in streams.items()
        if [e.version for e in events] != list(range(1, len(events) + 1))
    ]
    detail = f"{len(streams)} streams, {len(broken)} with a gap or duplicate"
    if broken:
        detail += ": " + _named(broken)
    return Check("versions_gap_free", not broken, detail)


def balances_never_negative(streams: Mapping[str, list[RecordedEvent]]) -> Check:
    bad: list[str] = []
    accounts = 0
    for aggregate_id, events in streams.items():
        if not events or events[0].aggregate_type != "BankAccount":
            continue
        accounts += 1
        balance = 0
        for recorded in events:
            match decode_event(recorded.event_type, recorded.data):
                case MoneyDeposited(amount=a) | WithdrawalReversed(amount=a):
                    balance += a
                case MoneyWithdrawn(amount=a):
                    balance -= a
            if balance < 0:
                bad.append(f"{aggregate_id}@{recorded.version}")
                break
    detail = f"{accounts} accounts, {len(bad)} went below zero"
    if bad:
        detail += ": " + _named(bad)
    return Check("balance_never_negative", not bad, detail)


def stock_never_negative(streams: Mapping[str, list[RecordedEvent]]) -> Check:
    bad: list[str] = []
    products = 0
    for aggregate_id, events in streams.items():
        if not events or events[0].aggregate_type != "Product":
            continue
        products += 1
        stock = 0
        for recorded in events:
            match decode_event(recorded.event_type, recorded.data):
                case ProductAdded(stock=q) | StockReceived(quantity=q) | StockReleased(quantity=q):
                    stock += q
                case StockReserved(quantity=q):
                    stock -= q
            if stock < 0:
                bad.append(f"{aggregate_id}@{recorded.version}")
                break
    detail = f"{products} products, {len(bad)} with stock below zero"
    if bad:
        detail += ": " + _named(bad)
    return Check("stock_never_negative", not bad, detail)


def rebuild(name: str, streams: Mapping[str, list[RecordedEvent]]) -> dict[str, Doc]:
    """The read model's docs folded from the event store, as JSON would carry them."""
    projection = PROJECTIONS[name]
    docs: dict[str, Doc] = {}
    for aggregate_id, events in streams.items():
        if not events or events[0].aggregate_type != projection.aggregate_type:
            continue
        doc: Doc | None = None
        for recorded in events:
            event = decode_event(recorded.event_type, recorded.data)
            doc = projection.apply(doc, envelope_of(recorded), event)
        if doc is not None:
            docs[aggregate_id] = msgspec.json.decode(msgspec.json.encode(doc))
    return docs


def compare(name: str, expected: Mapping[str, Doc], actual: Mapping[str, Doc]) -> Check:
    missing = [i for i in expected if i not in actual]
    differ = [i for i in expected if i in actual and actual[i] != expected[i]]
    passed = not missing and not differ
    detail = (
        f"{len(expected)} docs rebuilt from events: {len(missing)} missing, {len(differ)} differ"
    )
    if missing:
        detail += "; missing: " + _named(missing)
    if differ:
        first = differ[0]
        delta = {
            k: (expected[first].get(k), actual[first].get(k))
            for k in set(expected[first]) | set(actual[first])
            if expected[first].get(k) != actual[first].get(k)
        }
        detail += f"; differ: {_named(differ)} (e.g. {first}: rebuilt vs live {delta})"
    return Check(f"read_model_{name}_equals_rebuild", passed, detail)


def conflicts_agree(
    samples: Iterable[Sample],
    streams: Mapping[str, list[RecordedEvent]],
    counts: ConflictCounts,
) -> Check:
    """Each 409 in the samples was genuine (the stream had moved past If-Match), and the
    samples, locust and the API counted the same number."""
    conflicts = [s for s in samples if s.outcome == "conflict"]
    genuine = sum(
        1
        for s in conflicts
        if s.aggregate_id
        and s.expected_version is not None
        and len(streams.get(s.aggregate_id, [])) > s.expected_version
    )
    seen = Counter({"samples": len(conflicts), "locust": counts.locust, "api": counts.api})
    passed = genuine == len(conflicts) == counts.locust == counts.api
    detail = (
        f"409 conflicts: samples {seen['samples']} ({genuine} genuine), locust {seen['locust']},"
        f" API metric {seen['api']}"
    )
    return Check("conflicts_counted_identically", passed, detail)


async def load_streams(
    store: PostgresEventStore, ids: Iterable[str]
) -> dict[str, list[RecordedEvent]]:
    """The given streams, whole (from version 1)."""
    slots = asyncio.Semaphore(LOAD_CONCURRENCY)

    async def one(aggregate_id: str) -> tuple[str, list[RecordedEvent]]:
        async with slots:
            return aggregate_id, await store.load(aggregate_id)

    return dict(await asyncio.gather(*(one(i) for i in sorted(set(ids)))))


async def live_docs(
    read_store: ElasticsearchReadStore, name: str, ids: list[str]
) -> dict[str, Doc]:
    docs: dict[str, Doc] = {}
    for i in range(0, len(ids), MGET_BATCH):
        docs.update(await read_store.mget(read_store.alias(name), ids[i : i + MGET_BATCH]))
    return docs


async def audit(
    store: PostgresEventStore,
    read_store: ElasticsearchReadStore,
    samples: list[Sample],
    *,
    seeded: Iterable[str],
    conflicts: ConflictCounts | None,
    catch_up_timeout_s: float = 60.0,
) -> list[Check]:
    """Every check, after waiting for the projections to reach the run's last position."""
    streams = await load_streams(
        store, [*seeded, *(s.aggregate_id for s in samples if s.aggregate_id)]
    )
    last = max((e.position for events in streams.values() for e in events), default=0)
    types = {events[0].aggregate_type for events in streams.values() if events}
    names = [name for name, p in PROJECTIONS.items() if p.aggregate_type in types]
    caught_up = await read_store.wait_for_position(names, last, catch_up_timeout_s)
    checks = [
        Check(
            "projections_caught_up",
            bool(caught_up),
            f"{', '.join(names)} reached position {last}, the run's last"
            if caught_up
            else f"not all of {', '.join(names)} reached position {last}"
            f" in {catch_up_timeout_s:g}s",
        )
    ]
    checks += [
        acknowledged_in_store(samples, streams),
        versions_gap_free(streams),
        balances_never_negative(streams),
        stock_never_negative(streams),
    ]
    for name in names:
        expected = rebuild(name, streams)
        actual = await live_docs(read_store, name, sorted(expected))
        checks.append(compare(name, expected, actual))
    if conflicts is not None:
        checks.append(conflicts_agree(samples, streams, conflicts))
    return checks
