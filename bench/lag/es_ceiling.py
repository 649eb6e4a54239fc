"""Elasticsearch's own bulk + refresh latency: the ceiling of the lag's index and refresh stages.

After a load run, on the stack's node and with the projector's own code path
(`ElasticsearchReadStore.bulk_versioned` and `refresh`, the same async client): fresh indices
with the run's read models' settings and mappings (`read_model_body`), docs copied from the
live read models (same size) and written first (`SEED_DOCS`), and per batch what a projector
cycle asks of Elasticsearch when every projection of the run has events: one versioned bulk of
`DOCS_PER_BULK` docs into each index at once, most replacing a doc (`UPDATE_SHARE`), made
searchable as the run's projectors did (`projector_refresh`): in `explicit` mode one refresh of
all of them after the bulks (as `SharedRefresh` does), in `immediate` mode by each bulk itself
(`refresh=true`), in `wait_for` mode by each bulk waiting for the index's scheduled refresh
(`refresh=wait_for`); in those two the bulk step holds the refresh and the refresh step is 0.
Batches are paced at
`BATCHES_PER_S`; the defaults match 50 orders/s (about 35 order events/s per read model).
There is no Kafka, no `mget`, no checkpoint, no lag record and no waiting for a previous batch:
what remains is Elasticsearch's. Each round's p50/p99 gives the figures their 95 % interval.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError

from bench.report.constants import ES_CEILING, ES_STAGES
from bench.report.intervals import Interval, median_interval
from system.config import Settings
from system.projections import PROJECTIONS
from system.readstore.elasticsearch import Doc, ElasticsearchReadStore
from system.readstore.mappings import read_model_body
from system.resilience import DependencyUnavailable

ROUNDS = 3
BATCHES = 20
"""Batches per round (5 s per round at the default pace)."""
ROUND_BUDGET = 2.0
"""A round that overruns its paced time by this factor stops early (an overloaded node would
otherwise stretch a 5 s round to minutes); the work line counts the batches measured."""
DOCS_PER_BULK = 8
BATCHES_PER_S = 4.0
SAMPLE_DOCS = 50
SEED_DOCS = 5000
"""Docs in each copy before the batches: a refresh that replaces docs resolves the deletes
against the existing segments, so an empty index would refresh faster than a read model."""
UPDATE_SHARE = 0.7
"""Share of a batch's docs that replace an existing one: in `orders`, 70 % of the order events
(confirm, ship, deliver, cancel) update an order placed earlier."""
SEED = 14
SCENARIO_AGGREGATES = {"orders": {"Order", "Product"}}
"""Aggregate types whose streams a scenario appends to (the other scenarios: accounts)."""


class EsCeilingError(RuntimeError):
    """The ceiling could not be measured (no read model to copy docs from)."""


@dataclass(frozen=True)
class Batch:
    """One batch's times in seconds: all bulks acknowledged, then the refresh returned."""

    index: float
    refresh: float

    @property
    def total(self) -> float:
        return self.index + self.refresh


class Docs:
    """The ceiling's writes: `SEED_DOCS` docs first, then per batch mostly updates of them (a
    new version replaces a doc, as most order events do) and the rest new docs."""

    def __init__(self, samples: Mapping[str, Sequence[Doc]]) -> None:
        self.samples = samples
        self.versions = dict.fromkeys(range(SEED_DOCS), 1)
        self.random = random.Random(SEED)
        self.written = 0

    def seed(self, name: str) -> list[tuple[str, int, Doc]]:
        return [self._doc(name, n, 1) for n in range(SEED_DOCS)]

    def next_ids(self, count: int) -> list[int]:
        """The docs of the next batch, each at its next version (`UPDATE_SHARE` updates)."""
        ids = []
        for _ in range(count):
            self.written += 1
            if self.random.random() < UPDATE_SHARE:
                doc = self.random.randrange(len(self.versions))
                self.versions[doc] += 1
            else:
                doc = len(self.versions)
                self.versions[doc] = 1
            ids.append(doc)
        return ids

    def batch(self, name: str, ids: Sequence[int]) -> list[tuple[str, int, Doc]]:
        return [self._doc(name, n, self.versions[n]) for n in ids]

    def _doc(self, name: str, n: int, version: int) -> tuple[str, int, Doc]:
        docs = self.samples[name]
        return f"ceiling-{n}", version, docs[(n + version) % len(docs)]


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (one of the values)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


async def sample_docs(store: ElasticsearchReadStore, name: str) -> list[Doc]:
    """Up to `SAMPLE_DOCS` docs of the live read model `name` (its newest by position)."""
    try:
        response = await store.client.search(
            index=store.alias(name), size=SAMPLE_DOCS, sort=[{"position": "desc"}]
        )
    except ApiError as exc:
        raise EsCeilingError(f"could not read docs of {name}: {exc}") from exc
    return [hit["_source"] for hit in response["hits"]["hits"]]


async def measure(
    store: ElasticsearchReadStore,
    names: Sequence[str],
    *,
    rounds: int = ROUNDS,
    batches: int = BATCHES,
    docs_per_bulk: int = DOCS_PER_BULK,
    batches_per_s: float = BATCHES_PER_S,
    budget: float = ROUND_BUDGET,
) -> list[list[Batch]]:
    """Rounds of paced batches into fresh copies of the read models `names`; deleted after.

    A round stops early once past `budget` times its paced time (it keeps at least a batch)."""
    samples = {name: await sample_docs(store, name) for name in names}
    samples = {name: docs for name, docs in samples.items() if docs}
    if not samples:
        raise EsCeilingError(f"no docs in the read models {', '.join(names)} to copy")
    stamp = time.time_ns() // 1_000_000
    indices = {name: f"{store.prefix}-ceiling-{name}-{stamp}" for name in samples}
    interval = store.read_model_refresh_interval
    wait_for = store.refresh_mode != "explicit"  # as `BatchWriter`: the bulk makes it searchable
    for name, index in indices.items():
        await store.client.indices.create(index=index, **read_model_body(name, interval))
    try:
        docs = Docs(samples)
        for name, index in indices.items():
            await store.bulk_versioned(index, docs.seed(name))
        await store.refresh(",".join(indices.values()))
        measured: list[list[Batch]] = []
        for _ in range(rounds):
            batch_times: list[Batch] = []
            start = time.monotonic()
            deadline = start + budget * batches / batches_per_s
            for i in range(batches):
                if batch_times and time.monotonic() > deadline:
                    break
                await asyncio.sleep(max(0.0, start + i / batches_per_s - time.monotonic()))
                ids = docs.next_ids(docs_per_bulk)
                bulks = {index: docs.batch(name, ids) for name, index in indices.items()}
                t0 = time.perf_counter()
                await asyncio.gather(
                    *(store.bulk_versioned(i, d, wait_for=wait_for) for i, d in bulks.items())
                )
                t1 = time.perf_counter()
                refresh = 0.0
                if not wait_for:
                    await store.refresh(",".join(sorted(indices.values())))
                    refresh = time.perf_counter() - t1
                batch_times.append(Batch(t1 - t0, refresh))
            measured.append(batch_times)
        return measured
    finally:
        await store.client.indices.delete(index=",".join(indices.values()), ignore_unavailable=True)


def _interval(rounds: Sequence[Sequence[Batch]], stage: str, q: float) -> Interval:
    return median_interval(
        [quantile([getattr(b, stage) for b in batches], q) for batches in rounds]
    )


def ceiling_row(
    rounds: Sequence[Sequence[Batch]],
    names: Sequence[str],
    *,
    docs_per_bulk: int = DOCS_PER_BULK,
    batches_per_s: float = BATCHES_PER_S,
    refresh_mode: str = "explicit",
) -> dict[str, Any]:
    """The `ceilings` row: bulk + refresh p50 (main figure) and p99, and each step's p50/p99,
    each the median of the rounds' with its interval; `refresh_mode` as `measure` ran."""
    total50 = _interval(rounds, "total", 0.5)
    searchable = (
        "then one refresh of them all"
        if refresh_mode == "explicit"
        else f"each bulk with refresh={'true' if refresh_mode == 'immediate' else 'wait_for'}"
    )
    row: dict[str, Any] = {
        "name": ES_CEILING,
        "unit": "seconds",
        "refresh_mode": refresh_mode,
        "value": total50.value,
        **total50.fields(),
    }
    figures = {"p99": ("total", 0.99)}
    for stage in ES_STAGES:
        figures[f"{stage}_p50"] = (stage, 0.5)
        figures[f"{stage}_p99"] = (stage, 0.99)
    for key, (step, q) in figures.items():
        found = _interval(rounds, step, q)
        row.update({key: found.value, f"{key}_low": found.low, f"{key}_high": found.high})
    row["work"] = (
        f"Elasticsearch on the stack's node, the projector's client and bulk code: {len(rounds)}"
        f" rounds of {sum(map(len, rounds))} batches in all at {batches_per_s:g}/s, each a"
        f" versioned bulk of {docs_per_bulk} docs (copied from the live read model, same size;"
        f" {UPDATE_SHARE:.0%} replace one of {SEED_DOCS:,} docs written first) into fresh"
        f" copies of {', '.join(names)} at once, {searchable};"
        " bulk acked -> searchable p50 (p99 beside it), with the index (bulk) and refresh"
        " steps apart"
    )
    return row


def read_models(lag: Sequence[Mapping[str, Any]], scenario: str) -> list[str]:
    """The read models a run of `scenario` writes to, among those with lag rows (another
    client's few events on another stream do not make a projector cycle refresh its index)."""
    staged = sorted({r["projection"] for r in lag if r.get("stage") in ES_STAGES})
    kinds = SCENARIO_AGGREGATES.get(scenario, {"BankAccount"})
    mine = [n for n in staged if n in PROJECTIONS and PROJECTIONS[n].aggregate_type in kinds]
    return mine or staged


def projector_refresh(config: Mapping[str, Any], default: str) -> str:
    """How the run's projectors made their writes searchable (`projector_settings`), if they
    all agree; else `default` (the harness's own setting)."""
    modes = {s.get("refresh") for s in config.get("projector_settings", ())} - {None, ""}
    return str(modes.pop()) if len(modes) == 1 else default


async def add_es_ceiling(results: Any, settings: Settings) -> list[str]:
    """Measure the ceiling for the read models in the run's `lag` rows into `results` (a
    `bench.report.results.Results`); returns notes (why it is missing, if it could not run)."""
    names = read_models(results.rows("lag"), str(results.config.get("scenario", "")))
    if not names:
        return []
    mode = projector_refresh(results.config, settings.projection_refresh)
    store = ElasticsearchReadStore(dataclasses.replace(settings, projection_refresh=mode))
    try:
        rounds = await measure(store, names)
    except (EsCeilingError, DependencyUnavailable, ApiError, TransportError) as exc:
        return [f"Elasticsearch's bulk + refresh ceiling was not measured: {exc}"]
    finally:
        await store.close()
    results.add("ceilings", ceiling_row(rounds, names, refresh_mode=mode))
    return []
