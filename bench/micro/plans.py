"""The plan PostgreSQL runs a benchmarked read on, in a word or two, for the row that reports it.

A read's cost depends on its plan, and the store's connections force PostgreSQL's generic plan
(`STORE_SERVER_SETTINGS`), which is built from the table's contents: the same fetch ran as an
index scan in version order or as a bitmap scan plus a sort depending on what else the suite
had stored, and its time doubled. So a replay row names the plan of our read and of its raw
ceiling, as each ran: the statement is PREPAREd on a connection of the pool that ran it (its
plan_cache_mode), and `EXPLAIN EXECUTE` shows the plan that execution uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import asyncpg

SCANS = {
    "Index Scan": "index scan",
    "Index Only Scan": "index-only scan",
    "Bitmap Heap Scan": "bitmap scan",
    "Seq Scan": "seq scan",
}


def literal(value: Any) -> str:
    """`value` as an SQL literal for EXECUTE (ints and strings: what the reads take)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"no literal for {type(value).__name__}")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _conditions(node: dict[str, Any]) -> str:
    return " ".join(str(node.get(key, "")) for key in ("Index Cond", "Recheck Cond", "Filter"))


def stream_read(plan: dict[str, Any], relation: str = "events", marker: str = "version >") -> str:
    """How `plan` reads `relation`'s rows: the scan whose condition holds `marker` (the
    stream's version window, not the max(version) lookup beside it), else the first scan; and
    "+ sort" when a Sort node orders the rows afterwards."""
    nodes = list(_nodes(plan))
    scans = [n for n in nodes if n.get("Relation Name") == relation and n["Node Type"] in SCANS]
    if not scans:
        return "no scan of " + relation
    windowed = [n for n in scans if marker in _conditions(n)]
    label = SCANS[(windowed or scans)[0]["Node Type"]]
    if any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes):
        label += " + sort"
    return label


async def plan_of(pool: asyncpg.Pool, sql: str, args: Sequence[Any]) -> str:
    """How `sql` with `args` reads the events on a connection of `pool`, as `stream_read`
    words it."""
    async with pool.acquire() as conn:
        await conn.execute(f"PREPARE bench_plan AS {sql}")
        try:
            values = ", ".join(literal(a) for a in args)
            raw = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE bench_plan({values})")
        finally:
            await conn.execute("DEALLOCATE bench_plan")
    explained = json.loads(raw) if isinstance(raw, str) else raw
    return stream_read(explained[0]["Plan"])
