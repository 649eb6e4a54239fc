"""What a projector's refresh costs Elasticsearch, by which fields a read model indexes.

`python -m bench.load.mapping_cost [BULKS] [PAIRS]`, on the running stack after a load run (its
read models hold the docs it copies): for each read model of `orders`, two fresh indices, one
with every field indexed (`full_body`, the read models as declared) and one with only the
queried fields (`read_model_body`, see `SEARCHED`), each take BULKS (default 400) versioned
bulks of `DOCS` docs made searchable by the bulk itself, through the projector's own code path
(`ElasticsearchReadStore.bulk_versioned` in `immediate` mode); the two alternate PAIRS times
(default 2). Printed: Elasticsearch's CPU per bulk (its process tree, from /proc, as load runs
sample it). The figures in `system/readstore/mappings.py` come from this. Run it on a warm node:
right after `cqrs-bench up`, the first pair measured 1.3-3.6x the later ones (Elasticsearch's JIT
still compiling).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.lag.es_ceiling import SCENARIO_AGGREGATES, sample_docs
from bench.load.resources import stack_roots, take_snapshot
from system.config import Settings
from system.projections import PROJECTIONS
from system.readstore.elasticsearch import Doc, ElasticsearchReadStore
from system.readstore.mappings import (
    FRESHNESS,
    NO_SCHEDULED_REFRESH,
    READ_MODELS,
    read_model_body,
)

READ_MODELS_OF_ORDERS = tuple(
    name
    for name, projection in PROJECTIONS.items()
    if projection.aggregate_type in SCENARIO_AGGREGATES["orders"]
)
"""The read models an `orders` run writes to, as the Elasticsearch ceiling picks them."""
DOCS = 10
"""Docs per bulk, about what a projector writes per bulk at 50 orders/s."""
ELASTICSEARCH = "elasticsearch"
USAGE = "usage: python -m bench.load.mapping_cost [BULKS (default 400)] [PAIRS (default 2)]"


def full_body(name: str) -> dict[str, Any]:
    """`read_model_body(name)` with every field indexed (the read model as declared)."""
    body = read_model_body(name, NO_SCHEDULED_REFRESH)
    body["mappings"]["properties"] = {**READ_MODELS[name], **FRESHNESS}
    return body


def lean_body(name: str) -> dict[str, Any]:
    """The body projectors get: only `SEARCHED` fields and `FRESHNESS` indexed."""
    return read_model_body(name, NO_SCHEDULED_REFRESH)


async def cpu_per_bulk(
    store: ElasticsearchReadStore,
    settings: Settings,
    index: str,
    body: dict[str, Any],
    docs: list[Doc],
    bulks: int,
) -> float:
    """Elasticsearch's CPU milliseconds per bulk (with its refresh) into a fresh `index`."""
    await store.client.options(ignore_status=404).indices.delete(index=index)
    await store.client.indices.create(index=index, **body)
    roots = stack_roots(settings.stack_dir)
    try:
        before = take_snapshot(roots).cpu[ELASTICSEARCH]
        for i in range(bulks):
            picked = [(i * DOCS + j) % len(docs) for j in range(DOCS)]
            await store.bulk_versioned(
                index, [(f"doc-{k}", i + 1, docs[k]) for k in picked], wait_for=True
            )
        after = take_snapshot(roots).cpu[ELASTICSEARCH]
    finally:
        await store.client.indices.delete(index=index)
    return (after - before) / bulks * 1000


async def measure(bulks: int, pairs: int, console: Console) -> Table:
    """The table of CPU per bulk, every field against `SEARCHED` only, per read model."""
    settings = dataclasses.replace(Settings.from_env(), projection_refresh="immediate")
    store = ElasticsearchReadStore(settings)
    table = Table(title=f"Elasticsearch CPU ms per bulk of {DOCS} docs + refresh ({bulks} bulks)")
    for column in ("read model", "every field indexed", "SEARCHED only", "lean / full"):
        table.add_column(column)
    try:
        for name in READ_MODELS_OF_ORDERS:
            docs = await sample_docs(store, name)
            if not docs:
                raise SystemExit(f"{name} holds no docs: run a load first (cqrs-bench load)")
            full: list[float] = []
            lean: list[float] = []
            index = f"{settings.es_index_prefix}-mapping-cost-{name}"
            for pair in range(pairs):
                with console.status(f"{name}: pair {pair + 1} of {pairs}"):
                    full.append(
                        await cpu_per_bulk(store, settings, index, full_body(name), docs, bulks)
                    )
                    lean.append(
                        await cpu_per_bulk(store, settings, index, lean_body(name), docs, bulks)
                    )
            table.add_row(
                name,
                ", ".join(f"{v:.2f}" for v in full),
                ", ".join(f"{v:.2f}" for v in lean),
                ", ".join(f"{b / a:.2f}" for a, b in zip(full, lean, strict=True)),
            )
    finally:
        await store.close()
    return table


def main(argv: list[str]) -> None:
    """`python -m bench.load.mapping_cost [BULKS] [PAIRS]`."""
    if argv in (["--help"], ["-h"]):
        print(f"{USAGE}\n\n{__doc__}")
        return
    if len(argv) > 2 or not all(a.isdigit() and int(a) > 0 for a in argv):
        raise SystemExit(USAGE)
    bulks, pairs = [int(a) for a in argv] + [400, 2][len(argv) :]
    console = Console()
    console.print(asyncio.run(measure(bulks, pairs, console)))


if __name__ == "__main__":
    main(sys.argv[1:])
