"""The event store port's contract: the checks every implementation of `EventStore` must pass.

Each check is a plain function of a store, run once per implementation: against PostgreSQL by
`tests/integration/test_eventstore_contract.py` and against the in-memory twin
(`tests/support/memory_event_store.py`) by `tests/unit/test_memory_event_store_contract.py`.
Each test module also plants a store that skips the version check, to prove the
optimistic-concurrency check can fail. Checks make their own streams and keys (unique ids) and
compare positions only with each other, so they can share one store with anything else.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
import orjson
import pytest

from system.domain.errors import ConcurrencyError
from system.domain.events import AccountOpened, Event, MoneyDeposited
from system.domain.recorded import Metadata
from system.ports import (
    KEEP_ANSWERS_S,
    AppendResult,
    EventStore,
    IdempotencyRecord,
    KeyTaken,
    Snapshot,
    StreamAppend,
)
from tests.support.polling import eventually

Check = Callable[[EventStore], Awaitable[None]]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def account(aggregate_id: str, expected: int, *events: Event) -> StreamAppend:
    return StreamAppend(
        aggregate_id=aggregate_id,
        aggregate_type="BankAccount",
        expected_version=expected,
        events=list(events),
    )


def deposits(count: int, start: int = 1) -> list[Event]:
    return [MoneyDeposited(amount=start + i) for i in range(count)]


async def opened(store: EventStore, deposited: int = 0) -> str:
    """A new account stream of 1 + `deposited` events."""
    aggregate_id = new_id("contract")
    await store.append(
        [account(aggregate_id, 0, AccountOpened(owner_id="o"), *deposits(deposited))]
    )
    return aggregate_id


async def append_returns_where_the_events_landed(store: EventStore) -> None:
    aggregate_id = new_id("contract")
    events = [AccountOpened(owner_id="o"), *deposits(3)]
    meta = Metadata(correlation_id="c-1", user_id="u-1")
    result = await store.append([account(aggregate_id, 0, *events)], meta)
    recorded = await store.load(aggregate_id)
    assert result.versions == {aggregate_id: 4}
    assert [e.version for e in recorded] == [1, 2, 3, 4]
    assert recorded[-1].position == result.position
    assert [e.position for e in recorded] == sorted({e.position for e in recorded})
    assert {e.metadata for e in recorded} == {meta}
    assert await store.load_events(aggregate_id) == events
    third = await store.load_event(aggregate_id, 3)
    assert third is not None and third.event_type == "MoneyDeposited"
    assert await store.load_event(aggregate_id, 5) is None


async def a_stale_expected_version_is_a_conflict_and_writes_nothing(store: EventStore) -> None:
    aggregate_id = await opened(store, deposited=1)
    with pytest.raises(ConcurrencyError) as raised:
        await store.append([account(aggregate_id, 1, MoneyDeposited(amount=9))])
    assert (raised.value.aggregate_id, raised.value.expected, raised.value.actual) == (
        aggregate_id,
        1,
        2,
    )
    with pytest.raises(ConcurrencyError):
        await store.append([account(aggregate_id, 0, AccountOpened(owner_id="again"))])
    assert await store.load_events(aggregate_id) == [AccountOpened(owner_id="o"), *deposits(1)]


async def an_expected_version_ahead_of_the_stream_is_a_conflict(store: EventStore) -> None:
    aggregate_id = await opened(store)
    with pytest.raises(ConcurrencyError) as raised:
        await store.append([account(aggregate_id, 5, MoneyDeposited(amount=1))])
    assert (raised.value.expected, raised.value.actual) == (5, 1)
    assert [e.version for e in await store.load(aggregate_id)] == [1]


async def concurrent_appends_at_one_version_commit_once(store: EventStore) -> None:
    aggregate_id = await opened(store)
    outcomes = await asyncio.gather(
        *(store.append([account(aggregate_id, 1, MoneyDeposited(amount=n))]) for n in range(8)),
        return_exceptions=True,
    )
    assert sum(isinstance(o, AppendResult) for o in outcomes) == 1
    assert sum(isinstance(o, ConcurrencyError) for o in outcomes) == 7
    assert [e.version for e in await store.load(aggregate_id)] == [1, 2]


async def a_conflict_on_one_stream_writes_nothing_on_the_others(store: EventStore) -> None:
    moved, fresh = await opened(store, deposited=1), new_id("contract")
    with pytest.raises(ConcurrencyError) as raised:
        await store.append(
            [account(fresh, 0, AccountOpened(owner_id="f")), account(moved, 1, *deposits(1))]
        )
    assert raised.value.aggregate_id == moved
    assert await store.load(fresh) == []


async def loads_are_bounded_by_version_and_by_record_time(store: EventStore) -> None:
    aggregate_id = await opened(store, deposited=2)
    first = await store.load(aggregate_id)
    await store.append([account(aggregate_id, 3, *deposits(2, start=10))])
    assert [e.version for e in await store.load(aggregate_id, until_version=2)] == [1, 2]
    assert await store.load_events(aggregate_id, after_version=3) == deposits(2, start=10)
    assert await store.load_events(aggregate_id, after_version=1, until_version=3) == deposits(2)
    as_of = await store.load(aggregate_id, until_time=first[-1].recorded_at)
    assert [e.event_id for e in as_of] == [e.event_id for e in first]
    assert await store.load_events(aggregate_id, until_time=first[-1].recorded_at) == [
        AccountOpened(owner_id="o"),
        *deposits(2),
    ]


async def an_until_version_of_zero_bounds_nothing(store: EventStore) -> None:
    aggregate_id = await opened(store, deposited=2)
    whole = await store.load(aggregate_id)
    assert [e.version for e in whole] == [1, 2, 3]
    assert await store.load(aggregate_id, until_version=0) == whole
    assert await store.load_events(aggregate_id, until_version=0) == [
        AccountOpened(owner_id="o"),
        *deposits(2),
    ]
    assert await store.load_events(aggregate_id, after_version=1, until_version=0) == deposits(2)


def snapshot_of(aggregate_id: str, version: int, state: dict[str, Any]) -> Snapshot:
    return Snapshot(
        aggregate_id=aggregate_id,
        aggregate_type="BankAccount",
        version=version,
        schema_version=1,
        state=orjson.dumps(state),
    )


async def a_snapshot_and_its_tail_give_the_whole_stream(store: EventStore) -> None:
    aggregate_id = await opened(store, deposited=3)
    assert await store.load_snapshot(aggregate_id) is None
    await store.save_snapshot(snapshot_of(aggregate_id, 2, {"balance": 1}))
    await store.save_snapshot(snapshot_of(aggregate_id, 1, {"balance": 0}))
    saved = await store.load_snapshot(aggregate_id)
    assert saved is not None
    assert (saved.version, orjson.loads(saved.state)) == (2, {"balance": 1})
    tail = await store.load_events(aggregate_id, after_version=saved.version)
    whole = await store.load_events(aggregate_id)
    assert whole[saved.version :] == tail and len(tail) == 2


async def a_snapshot_appended_with_events_commits_only_with_them(store: EventStore) -> None:
    aggregate_id = await opened(store, deposited=1)
    due = snapshot_of(aggregate_id, 3, {"balance": 3})
    with pytest.raises(ConcurrencyError):
        await store.append([account(aggregate_id, 1, *deposits(1))], snapshots=[due])
    assert await store.load_snapshot(aggregate_id) is None
    await store.append([account(aggregate_id, 2, *deposits(1))], snapshots=[due])
    saved = await store.load_snapshot(aggregate_id)
    assert saved is not None and saved.version == 3


async def followers_get_every_committed_event_once_in_stream_order(store: EventStore) -> None:
    start = await store.head_position()
    ids = [new_id("contract") for _ in range(6)]
    appends = [
        store.append([account(i, 0, AccountOpened(owner_id="o"), *deposits(4))]) for i in ids
    ]
    results = await asyncio.gather(*appends)
    mine = set(ids)
    seen: list[tuple[str, int, int]] = []
    async for batch in store.follow(start, batch=7):
        seen += [(e.aggregate_id, e.version, e.position) for e in batch if e.aggregate_id in mine]
    assert len(seen) == len(set(seen)) == 30
    for aggregate_id, result in zip(ids, results, strict=True):
        stream = [(v, p) for a, v, p in seen if a == aggregate_id]
        assert [v for v, _ in stream] == [1, 2, 3, 4, 5]
        assert stream[-1][1] == result.position
    # Both hold once every transaction begun before ours has ended; on the shared stack another
    # one (the relay's, another test's) may still be open when ours commit, so wait for it.
    assert await eventually(lambda: _head_past(store, mine)), "head never passed the appends"
    mark = await store.commit_mark()
    assert await eventually(lambda: store.passed(mark)), "the commit mark was never passed"


async def _head_past(store: EventStore, mine: set[str]) -> bool:
    """Whether reading on from the head finds none of `mine`. The head is a cursor in
    `read_all`'s order (transaction, then position), not the highest position: an append whose
    transaction began first can hold both a lower and a higher position than a later one."""
    head = await store.head_position()
    return not any(e.aggregate_id in mine for e in await store.read_all(head, 1000))


async def an_idempotency_key_stores_one_answer_and_refuses_a_second_append(
    store: EventStore,
) -> None:
    aggregate_id, key = new_id("contract"), new_id("key")

    def render(position: int) -> tuple[int, bytes]:
        return 201, orjson.dumps({"position": position, "id": aggregate_id})

    record = IdempotencyRecord.rendering(key, "h-1", render)
    first = await store.append(
        [account(aggregate_id, 0, AccountOpened(owner_id="o"))], idempotency=record
    )
    with pytest.raises(KeyTaken):
        await store.append([account(aggregate_id, 1, *deposits(1))], idempotency=record)
    answer = await store.stored_answer(key)
    assert answer is not None
    assert (answer.request_hash, answer.status) == ("h-1", 201)
    assert answer.body == render(first.position)[1]
    assert [e.version for e in await store.load(aggregate_id)] == [1]
    await store.prune_answers(KEEP_ANSWERS_S)
    assert await store.stored_answer(key) == answer
    assert await store.stored_answer(new_id("key")) is None


CHECKS: list[Check] = [
    append_returns_where_the_events_landed,
    a_stale_expected_version_is_a_conflict_and_writes_nothing,
    an_expected_version_ahead_of_the_stream_is_a_conflict,
    concurrent_appends_at_one_version_commit_once,
    a_conflict_on_one_stream_writes_nothing_on_the_others,
    loads_are_bounded_by_version_and_by_record_time,
    a_snapshot_and_its_tail_give_the_whole_stream,
    a_snapshot_appended_with_events_commits_only_with_them,
    followers_get_every_committed_event_once_in_stream_order,
    an_idempotency_key_stores_one_answer_and_refuses_a_second_append,
    an_until_version_of_zero_bounds_nothing,
]


async def at_their_heads(store: EventStore, streams: Sequence[StreamAppend]) -> list[StreamAppend]:
    """The planted fault's appends: each stream at its current version, whatever was expected."""
    return [
        msgspec.structs.replace(s, expected_version=len(await store.load(s.aggregate_id)))
        for s in streams
    ]


async def skipping_the_version_check_is_caught(faulty: EventStore) -> None:
    """A store that appends `at_their_heads` still records events, but fails the OCC check."""
    await append_returns_where_the_events_landed(faulty)
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        await a_stale_expected_version_is_a_conflict_and_writes_nothing(faulty)
