"""Ports: what the application needs from storage, implemented by the adapters.

The middle of the dependency graph: adapters (eventstore, readstore, bus) and the application
import this module; it imports only the domain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

import msgspec

from system.domain.events import Event
from system.domain.recorded import Metadata, RecordedEvent

Doc = dict[str, Any]
"""A read-model document (or lag record) as stored: a JSON object."""


class StreamAppend(msgspec.Struct, frozen=True, kw_only=True):
    """New events for one stream, valid only if the stream is still at `expected_version`."""

    aggregate_id: str
    aggregate_type: str
    expected_version: int
    events: Sequence[Event]


class AppendResult(msgspec.Struct, frozen=True, kw_only=True):
    """Where the appended events landed: each stream's new version and the last global position."""

    versions: dict[str, int]
    position: int


@dataclass(frozen=True)
class IdempotencyRecord:
    """Store a command's answer under `key` with its events: a second append with the same key
    fails (`KeyTaken`) and commits nothing.

    The answer is `status` and the body `before + position + after` (the position in decimal):
    only the append knows where its events land, and the store writes the key in the append's
    own statement (`rendering` builds one from a render function).
    """

    key: str
    request_hash: str
    status: int
    before: bytes
    after: bytes

    def body(self, position: int) -> bytes:
        """The answer's body for an append that landed at `position`."""
        return self.before + str(position).encode() + self.after

    @classmethod
    def rendering(
        cls, key: str, request_hash: str, render: Callable[[int], tuple[int, bytes]]
    ) -> IdempotencyRecord:
        """The record of `render(position)`, which must print the position once, in decimal.

        Rendered at positions 1 and 22, the two bodies must differ in those digits only;
        anything else raises ValueError."""
        status, one = render(1)
        _, other = render(22)
        at = next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), -1)
        before, after = one[:at], one[at + 1 :]
        if at < 0 or one != before + b"1" + after or other != before + b"22" + after:
            raise ValueError("an idempotent answer must print its position once, in decimal")
        return cls(key=key, request_hash=request_hash, status=status, before=before, after=after)


class KeyTaken(Exception):
    """Another request stored an answer under this idempotency key first."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} is already used")
        self.key = key


KEEP_ANSWERS_S = 24 * 3600
"""How long an idempotency key and its answer are kept at least."""


class StoredAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The first answer given for an idempotency key."""

    request_hash: str
    status: int
    body: bytes


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """An aggregate's state at `version`, encoded; trusted only at the current schema version."""

    aggregate_id: str
    aggregate_type: str
    version: int
    schema_version: int
    state: bytes
    taken_at: datetime | None = None


class EventStore(Protocol):
    """The write model's storage: append with optimistic concurrency, load, follow, snapshot."""

    async def append(
        self,
        streams: Sequence[StreamAppend],
        metadata: Metadata | None = None,
        *,
        snapshots: Sequence[Snapshot] = (),
        idempotency: IdempotencyRecord | None = None,
    ) -> AppendResult:
        """Append atomically to one or more streams (and the snapshots due, only if they commit);
        raise ConcurrencyError on a stale or ahead-of-stream expected version, KeyTaken when
        `idempotency`'s key is already stored."""

    async def load(
        self,
        aggregate_id: str,
        *,
        after_version: int = 0,
        until_version: int | None = None,
        until_time: datetime | None = None,
    ) -> list[RecordedEvent]:
        """A stream's events in version order, optionally bounded by version or record time."""

    async def load_events(
        self,
        aggregate_id: str,
        *,
        after_version: int = 0,
        until_version: int | None = None,
        until_time: datetime | None = None,
    ) -> list[Event]:
        """The decoded payloads only, same bounds as `load`: the replay hot path."""

    async def load_event(self, aggregate_id: str, version: int) -> RecordedEvent | None:
        """One event of a stream by version."""

    async def read_all(self, after_position: int, limit: int) -> list[RecordedEvent]:
        """Events after a global position, never skipping one whose transaction commits late."""

    def follow(self, after_position: int, batch: int = 1000) -> AsyncIterator[list[RecordedEvent]]:
        """Batches of `read_all` until the current head is reached."""

    async def head_position(self) -> int:
        """The position of the last event `read_all` may return now, in its order (transaction,
        then position): a cursor to read on from, not the highest position stored, since a
        transaction that began first can append both below and above a later one."""

    async def commit_mark(self) -> int:
        """A mark after every transaction begun so far (for `passed`)."""

    async def passed(self, mark: int) -> bool:
        """Whether every transaction begun before `mark` has ended, so that `read_all` has
        shown (or will show) every event they committed."""

    async def load_snapshot(self, aggregate_id: str) -> Snapshot | None:
        """The latest snapshot of a stream, if any."""

    async def load_latest(self, aggregate_id: str) -> tuple[Snapshot | None, list[Event]]:
        """The latest snapshot of a stream, if any, and every event after it (the whole
        stream without one), read together."""

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store a snapshot (newer versions replace older ones)."""

    async def stored_answer(self, key: str) -> StoredAnswer | None:
        """The answer stored under an idempotency key by `append`, if any."""

    async def prune_answers(self, keep_s: float) -> int:
        """Forget idempotency keys older than `keep_s`; how many went."""


class ReadModels(Protocol):
    """The read side as the query handlers need it (implemented by ElasticsearchReadStore)."""

    async def get_order(self, order_id: str) -> dict[str, Any] | None:
        """The order status view of one order."""

    async def customer_orders(self, customer_id: str) -> list[dict[str, Any]]:
        """A customer's order history, newest first."""

    async def get_inventory(self, product_id: str) -> dict[str, Any] | None:
        """Reserved, sold and remaining stock of one product."""

    async def revenue(self, start: date, end: date) -> list[dict[str, Any]]:
        """Revenue and order count per day, both ends inclusive."""

    async def get_account(self, account_id: str) -> dict[str, Any] | None:
        """The balance view of one account."""

    async def wait_for_position(
        self, names: Sequence[str], min_position: int, timeout_s: float
    ) -> bool:
        """True once every named projection has reached `min_position` (within `timeout_s`)."""


class BulkOutcome(NamedTuple):
    """How a bulk write went: docs written and writes refused as stale (duplicates)."""

    written: int
    conflicts: int
    refused: frozenset[str] = frozenset()
    """Ids of the docs refused as stale."""


class ProjectionStore(Protocol):
    """The read side as projectors and rebuilds write it (implemented by ElasticsearchReadStore):
    versioned docs per index, refreshes, checkpoints and lag records."""

    @property
    def refresh_mode(self) -> str:
        """How writes become searchable: "explicit" (a refresh after each bulk), "immediate"
        (the bulk refreshes) or "wait_for" (the bulk waits for the periodic refresh)."""

    def alias(self, name: str) -> str:
        """The alias a read model is written and read through."""

    async def mget(self, index: str, ids: Sequence[str]) -> dict[str, Doc]:
        """Current docs by id, including writes not yet refreshed."""

    async def bulk_versioned(
        self, index: str, docs: Sequence[tuple[str, int, Doc]], *, wait_for: bool = False
    ) -> BulkOutcome:
        """Write (id, version, doc) unless the stored version is as new; stale ones are refused."""

    async def refresh(self, index: str) -> None:
        """Make what was written to `index` (comma-separated indices) searchable."""

    async def projection_position(self, name: str) -> int:
        """The position up to which `name` has applied every event (0 if never started)."""

    async def save_watermarks(
        self, name: str, watermarks: Mapping[int, int], partitions: Sequence[int]
    ) -> int:
        """Merge these partitions' watermarks into `name`'s checkpoint; its new position."""

    async def write_lag_records(self, records: Sequence[Doc]) -> None:
        """Store lag records, each once (by its `_id`)."""


class ReadModelAdmin(ProjectionStore, Protocol):
    """What a projector process and a rebuild also need of the read side: indices created,
    swapped behind their aliases and counted (implemented by ElasticsearchReadStore)."""

    async def ensure(self, names: Iterable[str]) -> None:
        """Create the read models' indices, aliases and the bookkeeping indices if missing."""

    async def ensure_partitions_field(self) -> None:
        """Make the checkpoint index accept per-partition watermarks."""

    async def create_index(self, name: str) -> str:
        """A fresh, empty index for read model `name`; its name."""

    async def swap_alias(self, name: str, index: str) -> list[str]:
        """Point `name`'s alias at `index` alone; the indices it pointed at before."""

    async def count(self, index: str) -> int:
        """How many documents `index` holds (after its last refresh)."""

    async def close(self) -> None:
        """Release the client."""
