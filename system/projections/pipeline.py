"""The projector's pipeline: receive, apply, and checkpoint as three overlapping steps.

Measured at 50 orders/s (issue 14): with one loop doing getmany → apply → refresh → commit →
save position in sequence, an event that arrived while a batch was being applied waited for
the whole of it (and for the commit and checkpoint writes the relay's watermarks cause every
50 ms) before it was even received: the "kafka" stage (acked → consumed) had p50 0.37 s
against Kafka's own 2 ms. So:

- `Receiver` keeps fetching while a batch is applied and stamps each batch as it arrives
  (`consumed_at` is then when Kafka delivered it to the process); the apply loop takes every
  batch waiting at once (`merge`), so a backlog costs one bulk, not one per fetch.
- `Checkpoints` commits the offsets and saves the watermarks in the background, highest value
  wins, at most one write of each in flight: both are handed over only after the batch was
  accepted by Elasticsearch and made searchable, so the guarantee (offsets committed only
  after that) holds; a commit that lands later only means a redelivery, which the versioned
  writes ignore.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError, OffsetOutOfRangeError

from system.resilience import Backoff, DependencyUnavailable

POLL_MS = 100
"""How long one `getmany` waits for records before the receiver checks for a stop."""
QUEUE_BATCHES = 64
"""Received batches held before the receiver waits for the apply loop (backpressure)."""

Failed = Callable[[Exception, Backoff, asyncio.Event], Awaitable[None]]
"""Reports an outage and waits out its backoff delay."""


@dataclass(frozen=True)
class Received:
    """One fetched batch (partition → records) and when it reached this process."""

    batch: Mapping[Any, Sequence[Any]]
    consumed_at: float
    epoch: int = 0
    """The assignment epoch it was fetched in (`system/projections/rebalance.py`)."""


def merge(received: Sequence[Received]) -> dict[Any, list[Any]]:
    """Batches taken together, each partition's records kept in offset order."""
    merged: dict[Any, list[Any]] = {}
    for item in received:
        for tp, records in item.batch.items():
            merged.setdefault(tp, []).extend(records)
    return merged


class Receiver:
    """Fetches from a consumer into a bounded queue, stamping each batch as it arrives."""

    def __init__(
        self,
        consumer: Any,
        max_records: int,
        failed: Failed,
        epoch: Callable[[], int] = lambda: 0,
        *,
        gap_s: float = 0.0,
    ) -> None:
        """`gap_s`: least time between two `take`s handing batches over (0: none)."""
        self.consumer = consumer
        self.max_records = max_records
        self.failed = failed
        self.epoch = epoch
        self.gap_s = gap_s
        self._handed_at = -gap_s
        self.queue: asyncio.Queue[Received] = asyncio.Queue(QUEUE_BATCHES)

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch until `stop`; a Kafka error waits out its backoff and fetches again."""
        delays = Backoff()
        while not stop.is_set():
            try:
                batch = await self.consumer.getmany(
                    timeout_ms=POLL_MS, max_records=self.max_records
                )
            except OffsetOutOfRangeError as exc:
                # Unread events deleted by retention are never skipped: this ends the process
                # unless every such partition is paused for its repair (see retention.py).
                if not set(exc.args[0]) <= self.consumer.paused():
                    raise
                continue
            except KafkaError as exc:
                await self.failed(exc, delays, stop)
                continue
            delays.reset()
            if batch:
                await self.queue.put(Received(batch, time.time(), self.epoch()))

    async def take(self, timeout_s: float) -> list[Received]:
        """Every batch waiting, after waiting up to `timeout_s` for the first (else []), and
        no sooner than `gap_s` after the last batches were handed over."""
        try:
            async with asyncio.timeout(timeout_s):
                first = await self.queue.get()
        except TimeoutError:
            return []
        if (early := self._handed_at + self.gap_s - time.monotonic()) > 0:
            await asyncio.sleep(early)
        taken = [first]
        while not self.queue.empty():
            taken.append(self.queue.get_nowait())
        self._handed_at = time.monotonic()
        return taken


class Checkpoints:
    """Commits offsets and saves watermarks in the background; per partition the highest wins.

    One flush at a time, so a flush on revoke (`system/projections/rebalance.py`) waits for the
    one in flight and then writes what is left.
    """

    def __init__(
        self,
        commit: Callable[[dict[Any, int]], Awaitable[None]],
        save: Callable[[dict[Any, int]], Awaitable[None]],
        failed: Failed,
    ) -> None:
        self._commit = commit
        self._save = save
        self._failed = failed
        self._offsets: dict[Any, int] = {}
        self._watermarks: dict[Any, int] = {}
        self._dirty = asyncio.Event()
        self._flushing = asyncio.Lock()

    def note(self, offsets: Mapping[Any, int], watermarks: Mapping[Any, int]) -> None:
        """Offsets (next to read) and watermarks, per partition, safe to persist from now."""
        for tp, offset in offsets.items():
            self._offsets[tp] = max(self._offsets.get(tp, 0), offset)
        for tp, watermark in watermarks.items():
            self._watermarks[tp] = max(self._watermarks.get(tp, 0), watermark)
        if self._offsets or self._watermarks:
            self._dirty.set()

    def forget(self, partitions: set[Any]) -> None:
        """Drop what is noted for partitions no longer ours (their commit could only fail)."""
        for tp in partitions:
            self._offsets.pop(tp, None)
            self._watermarks.pop(tp, None)

    async def run(self, stop: asyncio.Event) -> None:
        """Persist what was noted until `stop`, then once more (the last batch's checkpoint)."""
        delays = Backoff()
        while not stop.is_set():
            try:
                async with asyncio.timeout(0.2):
                    await self._dirty.wait()
            except TimeoutError:
                continue
            try:
                await self.flush()
            except (DependencyUnavailable, KafkaError) as exc:
                await self._failed(exc, delays, stop)
                continue
            delays.reset()
        with contextlib.suppress(DependencyUnavailable, KafkaError):
            await self.flush()

    async def flush(self) -> None:
        """Write what was noted; on failure it stays noted (merged with what comes next)."""
        async with self._flushing:
            self._dirty.clear()
            offsets, self._offsets = self._offsets, {}
            watermarks, self._watermarks = self._watermarks, {}
            try:
                if offsets:
                    await self._commit(offsets)
                    offsets = {}
                if watermarks:
                    await self._save(watermarks)
            except BaseException:
                self.note(offsets, watermarks)
                raise


class SharedRefresh:
    """One refresh for every projector that asks while another is in flight (group commit).

    Elasticsearch runs refreshes on one thread per two cores; five projectors refreshing their
    own index after each bulk queue behind each other. Here the first caller refreshes every
    index asked for so far in one request; callers arriving meanwhile wait for the next one,
    which starts after their bulk was accepted, so each caller's writes are searchable when it
    returns. If that refresh fails, every caller it served raises.

    Measured at 50 orders/s (issue 14): refreshing is what the lag is bound by. A shard refresh
    of a few docs cost Elasticsearch 15-29 ms of CPU on the dev box, 70-85 % of it in the
    kernel: each writes a segment (and soft-delete updates to the older segments it touches),
    about 30 file opens and 16 deletions, and on an ext4 without a journal (the dev box's
    root) every new inode is found by skipping those deleted in the last minutes (perf:
    `recently_deleted`, `find_inode_bit` and the buffer lookups they cause are 56 % of the
    refresh thread's samples); a scratch node with the same load on tmpfs spent 9-12 ms of
    kernel time per four-index cycle against 34-52 ms (growing with the churn) on ext4. In load
    runs the refresh thread was 78-90 % busy (about half of it waiting for a core: other work
    keeps both busy), at 16-40 shard refreshes/s of 19-45 ms each. Grouping already gives one
    refresh per index per cycle; what remains is each refresh's cost. Index settings did not
    change it (no compound files, `niofs`, `segments_per_tier: 2`: 15-23 ms CPU each). What
    did: `cqrs-bench up` puts Elasticsearch's data on a journaled ext4 image when the root has no
    journal (`bench/stack/volume.py`); in an alternated A/B at 50 orders/s the end-to-end lag
    fell from p50/p99 117/276 and 113/249 ms to 59/160 and 72/172 ms.

    `gap_s` spaces the refreshes' starts. Back to back, they keep the refresh thread busy at any
    rate: at 12.5 `orders` requests/s Elasticsearch spent 37-43 ms of CPU per request, at 50
    about 11. Measured (issue 14; `cqrs-bench load --scenario orders --rate 50 --duration 30`,
    gaps 0, 100, 200 ms alternated, two rounds): Elasticsearch's CPU per request 10.9, 10.6 /
    9.1, 7.6 / 7.4, 7.1 ms, but the end-to-end lag p99 492, 530 / 639, 635 / 623, 579 ms and the
    corrected request p99 95, 129 / 163, 161 / 130, 230 ms; saturation searches (`--slo
    p99=100ms`) found 20.4 (the first after start), 21.9 and 23.4 req/s without a gap, 34.4 and
    11.7 with 200 ms. The CPU it saves did not reliably buy rate here, and it cost lag. The
    default mode is `immediate` now, where the same setting spaces each projector's bulks
    (`Receiver`) and cost no lag (see `system/projections/projector.py`); its default, 50 ms,
    applies here too.
    """

    def __init__(self, refresh: Callable[[str], Awaitable[None]], gap_s: float = 0.0) -> None:
        self._refresh = refresh
        self._gap_s = gap_s
        """Least time from one refresh's start to the next (`CQRS_PROJECTION_REFRESH_GAP_MS`)."""
        self._started = -gap_s
        self._lock = asyncio.Lock()
        self._waiting: set[str] = set()
        self._next: asyncio.Future[None] | None = None

    async def __call__(self, index: str) -> None:
        """Return once a refresh of `index` that started after this call has finished."""
        self._waiting.add(index)
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        served = self._next
        async with self._lock:
            if not served.done():
                # Callers arriving while this waits out the gap join this refresh.
                if (early := self._started + self._gap_s - time.monotonic()) > 0:
                    await asyncio.sleep(early)
                self._started = time.monotonic()
                indices, self._waiting, self._next = sorted(self._waiting), set(), None
                try:
                    await self._refresh(",".join(indices))
                except BaseException as exc:
                    failure = (
                        exc
                        if isinstance(exc, Exception)
                        else DependencyUnavailable("elasticsearch", "refresh interrupted")
                    )
                    served.set_exception(failure)
                    served.exception()
                    raise
                served.set_result(None)
                return
        await served
