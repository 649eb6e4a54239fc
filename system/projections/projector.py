"""One projector: a Kafka consumer folding one topic into one read model, batch by batch.

Per batch: decode; group events by aggregate; fetch the current docs; skip what a doc already
holds (redelivery), fold the rest; stop on a version gap (after `gap_patience_s`, which covers
the moment a rebuild swaps its index in); one bulk write with external versioning; make it
searchable; then hand the Kafka offsets and the watermarks its partitions delivered to
`Checkpoints`, which persists them in the background (per partition: `checkpoint.py`), and
queue the lag records (the lag-stamp contract in `system/projections`). Batches are received
while the previous one is applied, and applied together (`pipeline.py`); each event keeps the
time its batch was first received, also when applied again after a transient error.

Fetching the current docs costs an `mget` only for what `BatchWriter` cannot know (see it),
which takes one Elasticsearch round trip off most batches.

Making a batch searchable (`CQRS_PROJECTION_REFRESH`): `immediate` (the default) sends the bulk
with `refresh=true`, so Elasticsearch refreshes the shard right after the write on a write
thread (two here) rather than on its one refresh thread, in one request instead of two and
without waiting for another projector's refresh, and asks for a refresh only for a batch of
duplicates that wrote nothing; `explicit` refreshes after the bulk, grouped with the other
projectors' refreshes (`SharedRefresh`); `wait_for` rides the index's scheduled refresh (1 s).
An `immediate` bulk is acknowledged after its refresh, so the lag's index stage holds the
refresh and its refresh stage is 0. Measured at 50 orders/s (issue 14; `cqrs-bench load
--scenario orders --rate 50 --duration 60 --warmup 5 --jit-warmup 1m`, the projector restarted
with the other mode between runs, Elasticsearch warm and not restarted, three interleaved pairs
on the shared 2-core box): end-to-end lag p50/p99 explicit 108/267, 129/294, 103/253 ms;
immediate 102/224, 91/204, 76/181 ms, lower in every pair, for 0.64-0.67 Elasticsearch cores
against 0.58-0.62. Six more immediate runs the same hour (an A/B of writing the lag records at
most twice a second, which changed nothing) gave p99 146 to 257 ms: the box's own swings are as
large as the difference, hence the interleaving. An earlier, noisier
comparison (8 pairs at load average 3-6, before the JVMs were warmed up) had immediate lower in
p50 7 times of 8 and in p99 5 times of 8. Either way the lag is bound by the refreshes' CPU:
see `SharedRefresh`. The trade against throughput (`cqrs-bench saturate --scenario orders
--slo p99=100ms`, which judges request latency only; one run each, before the warm-up existed):
explicit 75 requests/s, immediate 81, wait_for 100 — whose lag p99 was 2.2-2.6 s at every
rate, against 0.3-1.1 s.

Spacing the bulks (`CQRS_PROJECTION_REFRESH_GAP_MS`, default 50): a projector hands its next
batch over no sooner than 50 ms after the last, so an `immediate` index refreshes at most 20
times a second. Back to back, each projector started its next bulk as soon as one returned, at
any rate, and a refresh costs about the same for one event as for twenty: Elasticsearch used
more CPU at 50 orders/s (0.70 cores) than at 150 (0.53). Measured (issue 14; `cqrs-bench load
--scenario orders --rate 50 --duration 40 --warmup 5 --jit-warmup 1m`, two alternated pairs):
Elasticsearch 0.67-0.68 cores with no gap, 0.54 with 50 ms; end-to-end lag p99 99-118 ms
against 95-103 ms; corrected request p99 27.5-27.8 against 22.8-24.8 ms. The wait for the gap
is counted in the index stage; it was made up by bulks that no longer queue for the cores. At
175 orders/s, where bulks take longer than the gap anyway, one pair could not tell them apart
(Elasticsearch 0.53 cores both, lag p99 259-279 against 254-270 ms).

Outages: a batch that fails because Elasticsearch or Kafka is unavailable is applied again with
capped backoff (0.1 s doubling to 5 s), as are the lag records; the projector never exits for
an outage (`cqrs_projector_dependency_up`, `cqrs_projector_retries_total`). A refusal that is
not an outage (a 4xx, a version gap past its patience) still ends the process, loudly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from system.domain.errors import VersionGapError
from system.metrics import (
    PROJECTION_DUPLICATES,
    PROJECTION_EVENTS,
    PROJECTION_LAG,
    PROJECTION_LAG_STAGES,
    PROJECTION_POSITION,
    PROJECTOR_DEPENDENCY_UP,
    PROJECTOR_RETRIES,
    observe_all,
)
from system.ports import Doc, ProjectionStore
from system.projections.arrivals import decode_received
from system.projections.base import Projection
from system.projections.fold import Applied, Arrival, fold_batch
from system.projections.pipeline import Checkpoints, Received, Receiver, SharedRefresh, merge
from system.projections.rebalance import Handover
from system.projections.stamps import StampWriter, lag_record
from system.resilience import (
    Backoff,
    DependencyHealth,
    DependencyUnavailable,
    retry_unavailable,
    sleep_or_stop,
)

log = logging.getLogger(__name__)

GAP_RETRY_S = 0.2


def projector_health() -> DependencyHealth:
    """The projector process's dependency gauges and retry counters."""
    return DependencyHealth("projector", PROJECTOR_DEPENDENCY_UP, PROJECTOR_RETRIES, log)


DOC_CACHE_SIZE = 50_000


class BatchWriter:
    """Folds batches of events into one index: current docs from a cache or `mget`, one bulk.

    A stream whose batch starts at version 1 folds from nothing (if the doc exists, external
    versioning refuses the rebuilt copy as stale: the redelivery case); one whose last written
    doc is cached at the preceding version folds from the cache; only the rest cost an `mget`.
    A refused write evicts the cached doc.
    """

    def __init__(
        self,
        projection: Projection,
        store: ProjectionStore,
        index: str,
        *,
        gap_patience_s: float = 30.0,
    ) -> None:
        self.projection = projection
        self.store = store
        self.index = index
        self.gap_patience_s = gap_patience_s
        self.wait_for = store.refresh_mode != "explicit"
        """Whether the bulk itself returns once its writes are searchable (`refresh_mode`)."""
        self._docs: OrderedDict[str, Doc] = OrderedDict()

    async def apply(self, streams: Mapping[str, Sequence[Arrival]]) -> Applied:
        """Fold the batch onto the current docs and write them; stale writes count as duplicates."""
        deadline = time.monotonic() + self.gap_patience_s
        while True:
            current = await self._current(streams)
            try:
                applied = fold_batch(self.projection, current, streams)
            except VersionGapError as gap:
                if time.monotonic() > deadline:
                    raise
                log.warning("%s; retrying (a rebuild may be swapping indices)", gap)
                await asyncio.sleep(GAP_RETRY_S)
                continue
            outcome = await self.store.bulk_versioned(
                self.index, applied.docs, wait_for=self.wait_for
            )
            if outcome.refused:
                kept = [a for a in applied.events if a.recorded.aggregate_id not in outcome.refused]
                applied.duplicates += len(applied.events) - len(kept)
                applied.events = kept
            self._remember(applied.docs, outcome.refused)
            return applied

    async def _current(self, streams: Mapping[str, Sequence[Arrival]]) -> dict[str, Doc]:
        """The docs the batch folds onto, from the cache where it is known to be current."""
        current: dict[str, Doc] = {}
        missing: list[str] = []
        for aggregate_id, arrivals in streams.items():
            first = arrivals[0].recorded.version
            if first == 1:
                continue
            cached = self._docs.get(aggregate_id)
            if cached is not None and cached["version"] == first - 1:
                current[aggregate_id] = cached
            else:
                missing.append(aggregate_id)
        if missing:
            current.update(await self.store.mget(self.index, missing))
        return current

    def _remember(self, written: Sequence[tuple[str, int, Doc]], refused: frozenset[str]) -> None:
        cache = self._docs
        for aggregate_id, _version, doc in written:
            if aggregate_id in refused:
                cache.pop(aggregate_id, None)
            else:
                cache[aggregate_id] = doc
                cache.move_to_end(aggregate_id)
        while len(cache) > DOC_CACHE_SIZE:
            cache.popitem(last=False)


class Projector:
    """Keeps one read model up to date from the partitions its consumer is assigned."""

    def __init__(
        self,
        projection: Projection,
        store: ProjectionStore,
        consumer: Any,
        stamps: StampWriter | None,
        *,
        batch_size: int = 5000,
        gap_patience_s: float = 30.0,
        health: DependencyHealth | None = None,
        refresh: SharedRefresh | None = None,
        handover: Handover | None = None,
        partitions: Sequence[int] = (),
        bulk_gap_s: float = 0.0,
    ) -> None:
        """`partitions`: the topic's (default: assigned); `handover`: the rebalance listener;
        `bulk_gap_s`: least time between the starts of two batches (0: back to back)."""
        self.projection = projection
        self.refresh = refresh or SharedRefresh(store.refresh)
        self.store = store
        self.consumer = consumer
        self.stamps = stamps
        self.health = health or projector_health()
        self.batch_size = batch_size
        self.writer = BatchWriter(
            projection, store, store.alias(projection.name), gap_patience_s=gap_patience_s
        )
        self.index = self.writer.index
        self.refresh_mode = store.refresh_mode
        self.watermarks: dict[Any, int] = {}
        self.checkpoints = Checkpoints(consumer.commit, self.save_checkpoint, self._failed)
        self.handover = handover or Handover(projection.name)
        self.handover.attach(self.checkpoints, self.watermarks)
        self.partitions = list(partitions)
        self.bulk_gap_s = bulk_gap_s
        self.position = 0
        name = projection.name
        self._lag = {stage: PROJECTION_LAG.labels(name, stage) for stage in PROJECTION_LAG_STAGES}
        self._events = PROJECTION_EVENTS.labels(name)
        self._duplicates = PROJECTION_DUPLICATES.labels(name)
        self._position = PROJECTION_POSITION.labels(name)

    async def start(self) -> None:
        self.position = await self.store.projection_position(self.projection.name)
        self._position.set(self.position)

    async def _started(self) -> bool:
        await self.start()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop`; a batch that fails on an outage is applied again, with backoff.

        Receiving, applying and checkpointing overlap (see `system/projections/pipeline.py`).
        """
        if await retry_unavailable(self._started, self.health, stop=stop) is None:
            return
        receiver = Receiver(
            self.consumer, self.batch_size, self._failed, self.handover.now, gap_s=self.bulk_gap_s
        )
        async with asyncio.TaskGroup() as group:
            receiving = group.create_task(receiver.run(stop))
            checkpointing = group.create_task(self.checkpoints.run(stop))
            await self._apply_loop(receiver, stop)
            receiving.cancel()
            await checkpointing

    async def _apply_loop(self, receiver: Receiver, stop: asyncio.Event) -> None:
        delays = Backoff()
        while not stop.is_set():
            received = await receiver.take(0.2)
            if not received:
                continue
            while not stop.is_set():
                try:
                    await self.handover.apply(received, self.process)
                except DependencyUnavailable as exc:
                    await self._failed(exc, delays, stop)
                    continue
                delays.reset()
                self.health.ok("elasticsearch")
                self.health.ok("kafka")
                break

    async def _failed(self, exc: Exception, delays: Backoff, stop: asyncio.Event) -> None:
        dependency = exc.dependency if isinstance(exc, DependencyUnavailable) else "kafka"
        delay = delays.next()
        self.health.failed(dependency, exc, delay)
        await sleep_or_stop(stop, delay)

    async def process(self, received: Sequence[Received]) -> None:
        """Apply received batches as one, end to end (see the module docstring); each event
        keeps the time its batch was first received."""
        streams, seen = decode_received(received)
        applied = await self.writer.apply(streams)
        indexed_at = searchable_at = time.time()
        if self._needs_refresh(applied):
            await self.refresh(self.index)
            searchable_at = time.time()
        offsets = {tp: records[-1].offset + 1 for tp, records in merge(received).items()}
        self.checkpoints.note(offsets, self._advance(seen))
        self._duplicates.inc(applied.duplicates)
        await self._stamp(applied.events, indexed_at, searchable_at)

    def _needs_refresh(self, applied: Applied) -> bool:
        """Whether the batch still needs a refresh to be searchable: always after an `explicit`
        bulk; in `immediate` mode only when no bulk ran (duplicates only: applied again after
        its refresh failed, or redelivered after a crash) — with no scheduled refresh, nothing
        else would expose what the first attempt wrote; never for `wait_for` (the index's
        scheduled refresh does)."""
        if self.refresh_mode == "wait_for" or not (applied.docs or applied.duplicates):
            return False
        return self.refresh_mode == "explicit" or not applied.docs

    def _advance(self, seen: Mapping[Any, int]) -> dict[Any, int]:
        """The partitions whose watermark moved forward, at their new watermark."""
        moved = {tp: w for tp, w in seen.items() if w > self.watermarks.get(tp, 0)}
        self.watermarks.update(moved)
        return moved

    async def save_checkpoint(self, watermarks: dict[Any, int]) -> None:
        """Merge partitions' watermarks into the checkpoint; `position` follows its lowest."""
        partitions = self.partitions or sorted(tp.partition for tp in self.consumer.assignment())
        moved = {tp.partition: w for tp, w in watermarks.items()}
        position = await self.store.save_watermarks(self.projection.name, moved, partitions)
        if position > self.position:
            self.position = position
            self._position.set(position)

    async def _stamp(self, events: Sequence[Arrival], indexed: float, searchable: float) -> None:
        if not events:
            return
        lag = self._lag
        by_receipt: dict[float, list[Arrival]] = {}
        for arrival_ in events:
            by_receipt.setdefault(arrival_.consumed_at, []).append(arrival_)
        timed = [(a.consumed_at, a.origin) for a in events if a.origin is not None]
        observe_all(lag["index"], [indexed - a.consumed_at for a in events])
        observe_all(lag["refresh"], [searchable - indexed] * len(events))
        observe_all(lag["delivery"], [consumed - origin for consumed, origin in timed])
        observe_all(lag["end_to_end"], [searchable - origin for _, origin in timed])
        self._events.inc(len(events))
        if self.stamps is None:
            return
        name = self.projection.name
        records = [
            record
            for consumed, group in by_receipt.items()
            if (record := lag_record(name, group, consumed, indexed, searchable)) is not None
        ]
        if records:
            await self.stamps.add(records)
