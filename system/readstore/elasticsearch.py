"""ElasticsearchReadStore: read-model indices behind aliases, idempotent writes, and queries.

Each read model `<prefix>-<name>` is an alias over one concrete index (`-0` at first, a
timestamped one after a rebuild). Writes use external versioning (version = aggregate
version), so an older or repeated write is refused by Elasticsearch with a 409 and changes
nothing. A projection's position lives in `<prefix>-projection-positions` (doc id = name) and
is read with realtime GETs, so no refresh is needed to see it.

Outages: every request has a timeout (`Settings.es_timeout_s`); a connection failure, a timeout,
a 429 or a 5xx becomes `DependencyUnavailable("elasticsearch")` at this boundary (`@guarded`).
Inside a bulk, items refused with 429 or 503 (a full write queue, a shard not ready) are sent
again on their own with capped backoff, the others are not repeated; any other refusal but a
stale version (409) raises `BulkError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError

from system.config import Settings
from system.metrics import BULK_ITEM_RETRIES
from system.ports import BulkOutcome, Doc
from system.readstore import checkpoint
from system.readstore.bulk import (
    BULK_ITEM_ATTEMPTS,
    BulkError,
    chunks,
    guarded,
    ndjson_pairs,
    split_bulk_items,
)
from system.readstore.mappings import (
    LAG_BATCHES,
    NO_SCHEDULED_REFRESH,
    POSITIONS,
    plain_body,
    read_model_body,
)
from system.readstore.queries import visibility_search
from system.resilience import Backoff, DependencyUnavailable

__all__ = ["BulkError", "BulkOutcome", "Doc", "ElasticsearchReadStore", "visibility_search"]

WAIT_BACKOFF_START_S = 0.002
WAIT_BACKOFF_MAX_S = 0.05
SCROLL_PAGE = 5000


class ElasticsearchReadStore:
    """The read side's storage: index admin, versioned bulk writes, checkpoints, queries."""

    def __init__(self, settings: Settings, *, client: AsyncElasticsearch | None = None) -> None:
        self.prefix = settings.es_index_prefix
        self.client = client or AsyncElasticsearch(
            settings.es_url, request_timeout=settings.es_timeout_s
        )
        self.refresh_mode = settings.projection_refresh
        self.replicas = settings.es_replicas

    async def close(self) -> None:
        await self.client.close()

    # --- names and index administration

    def alias(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def positions_index(self) -> str:
        return f"{self.prefix}-projection-positions"

    @property
    def lag_index(self) -> str:
        """Where projectors write their lag records (one per batch)."""
        return f"{self.prefix}-lag-batches"

    @property
    def read_model_refresh_interval(self) -> str | None:
        """No scheduled refresh when projectors refresh themselves; the default for `wait_for`."""
        return None if self.refresh_mode == "wait_for" else NO_SCHEDULED_REFRESH

    @guarded
    async def ensure(self, names: Iterable[str]) -> None:
        """Create what is missing: first index + alias per read model, positions, lag records;
        existing ones get the refresh interval of today's settings (`mappings.py`)."""
        await self._create(self.positions_index, plain_body(POSITIONS))
        await self._create(self.lag_index, plain_body(LAG_BATCHES))
        intervals: dict[str, str | None] = {
            f"{self.positions_index},{self.lag_index}": NO_SCHEDULED_REFRESH
        }
        for name in names:
            alias = self.alias(name)
            intervals[alias] = self.read_model_refresh_interval
            if not await self.client.indices.exists_alias(name=alias):
                body = read_model_body(name, intervals[alias])
                await self._create(f"{alias}-0", {**body, "aliases": {alias: {}}})
        for index, interval in intervals.items():
            await self.client.indices.put_settings(
                index=index, settings={"index": {"refresh_interval": interval}}
            )

    async def _create(self, index: str, body: Mapping[str, Any]) -> None:
        """Create `index` with `self.replicas` replicas (CQRS_ES_REPLICAS); exists is fine."""
        settings = {**body.get("settings", {}), "number_of_replicas": self.replicas}
        try:
            await self.client.indices.create(index=index, **{**body, "settings": settings})
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise

    @guarded
    async def create_index(self, name: str) -> str:
        """A fresh, empty concrete index for `name` (not yet behind the alias)."""
        index = f"{self.alias(name)}-{time.time_ns() // 1_000_000}"
        await self._create(index, read_model_body(name, self.read_model_refresh_interval))
        return index

    @guarded
    async def aliased_indices(self, name: str) -> list[str]:
        try:
            found = await self.client.indices.get_alias(name=self.alias(name))
        except NotFoundError:
            return []
        return sorted(found.body)

    @guarded
    async def swap_alias(self, name: str, index: str) -> list[str]:
        """Point the alias at `index` alone, atomically; returns the indices it left."""
        alias = self.alias(name)
        old = [i for i in await self.aliased_indices(name) if i != index]
        actions: list[Mapping[str, Any]] = [{"remove": {"index": i, "alias": alias}} for i in old]
        actions.append({"add": {"index": index, "alias": alias}})
        await self.client.indices.update_aliases(actions=actions)
        return old

    @guarded
    async def count(self, index: str) -> int:
        """How many documents `index` holds (after its last refresh)."""
        return int((await self.client.count(index=index))["count"])

    @guarded
    async def delete_index(self, index: str) -> None:
        await self.client.indices.delete(index=index, ignore_unavailable=True)

    # --- projector writes

    @guarded
    async def mget(self, index: str, ids: Sequence[str]) -> dict[str, Doc]:
        """Current docs by id (realtime: sees writes not yet refreshed)."""
        if not ids:
            return {}
        response = await self.client.mget(index=index, ids=list(ids))
        return {d["_id"]: d["_source"] for d in response["docs"] if d.get("found")}

    async def _bulk(self, lines: Sequence[Mapping[str, Any]], **params: Any) -> list[int]:
        """Send action/source pairs in requests under `BULK_CHUNK_BYTES`; each pair's status.

        Items refused with 429 or 503 go again, alone, after a capped backoff.
        """
        pairs = ndjson_pairs(lines)
        statuses = [0] * len(pairs)
        for pending in chunks(pairs):
            delays = Backoff(0.1, 5.0)
            for attempt in range(1, BULK_ITEM_ATTEMPTS + 1):
                done, pending = await self._bulk_once(pairs, pending, params)
                for index, status in done:
                    statuses[index] = status
                if not pending:
                    break
                if attempt == BULK_ITEM_ATTEMPTS:
                    raise DependencyUnavailable(
                        "elasticsearch",
                        f"{len(pending)} bulk items still refused with 429/503 after {attempt}"
                        " tries",
                    )
                await asyncio.sleep(delays.next())
        return statuses

    @guarded
    async def _bulk_once(
        self, pairs: Sequence[bytes], indices: Sequence[int], params: Mapping[str, Any]
    ) -> tuple[list[tuple[int, int]], list[int]]:
        """One bulk request of the pairs at `indices`: (index, status) done, indices to retry."""
        body = b"".join(pairs[i] for i in indices)
        response = await self.client.bulk(
            operations=cast(Any, body),
            filter_path="errors,items.*.status,items.*.error",
            **params,
        )
        if not response.get("errors"):
            return [(i, 200) for i in indices], []
        statuses, again = split_bulk_items(response["items"])
        for j in again:
            BULK_ITEM_RETRIES.labels(str(statuses[j])).inc()
        retry = {indices[j] for j in again}
        done = [(i, status) for i, status in zip(indices, statuses, strict=True) if i not in retry]
        return done, sorted(retry)

    async def bulk_versioned(
        self, index: str, docs: Sequence[tuple[str, int, Doc]], *, wait_for: bool = False
    ) -> BulkOutcome:
        """Index (id, version, doc) with external versioning; stale versions count as conflicts.
        `wait_for`: return once searchable (`refresh=true` in `immediate` mode: the shard is
        refreshed on a write thread; else `refresh=wait_for`: the index's scheduled refresh)."""
        if not docs:
            return BulkOutcome(0, 0)
        lines: list[Mapping[str, Any]] = []
        for doc_id, version, doc in docs:
            lines.append(
                {
                    "index": {
                        "_index": index,
                        "_id": doc_id,
                        "version": version,
                        "version_type": "external",
                    }
                }
            )
            lines.append(doc)
        refresh = ("true" if self.refresh_mode == "immediate" else "wait_for") if wait_for else None
        statuses = await self._bulk(lines, refresh=refresh)
        refused = frozenset(
            doc[0] for doc, status in zip(docs, statuses, strict=True) if status == 409
        )
        return BulkOutcome(len(docs) - len(refused), len(refused), refused)

    @guarded
    async def refresh(self, index: str) -> None:
        await self.client.indices.refresh(index=index)

    async def write_lag_records(self, records: Sequence[Doc]) -> None:
        """Lag records, each created once (by its `_id`); repeats are ignored."""
        lines: list[Mapping[str, Any]] = []
        for record in records:
            lines.append({"create": {"_index": self.lag_index, "_id": record["_id"]}})
            lines.append({k: v for k, v in record.items() if k != "_id"})
        if lines:
            await self._bulk(lines)

    @guarded
    async def save_position(self, name: str, position: int) -> None:
        await self.client.index(
            index=self.positions_index,
            id=name,
            document={
                "projection": name,
                "position": position,
                "updated_at": datetime.now(UTC).isoformat(),
            },
        )

    async def save_watermarks(
        self, name: str, watermarks: Mapping[int, int], partitions: Sequence[int]
    ) -> int:
        """Merge partitions' watermarks into `name`'s checkpoint (`checkpoint.py`); its position."""
        return await checkpoint.save_watermarks(
            self.client, self.positions_index, name, watermarks, partitions
        )

    async def ensure_partitions_field(self) -> None:
        """Map `partitions` in a checkpoint index created before it existed (a no-op once there)."""
        await checkpoint.ensure_partitions_field(self.client, self.positions_index)

    async def projection_position(self, name: str) -> int:
        """The position up to which `name` has applied every event (0 if never started)."""
        return (await self._positions([name]))[name]

    async def projection_positions(self, names: Sequence[str]) -> dict[str, int]:
        return await self._positions(names)

    @guarded
    async def _positions(self, names: Sequence[str]) -> dict[str, int]:
        try:
            response = await self.client.mget(index=self.positions_index, ids=list(names))
        except NotFoundError:
            return dict.fromkeys(names, 0)
        found = {d["_id"]: d["_source"]["position"] for d in response["docs"] if d.get("found")}
        return {name: int(found.get(name, 0)) for name in names}

    async def wait_for_position(
        self, names: Sequence[str], min_position: int, timeout_s: float
    ) -> bool:
        """True once every named projection reached `min_position`; polls with bounded backoff."""
        deadline = time.monotonic() + timeout_s
        delay = WAIT_BACKOFF_START_S
        while True:
            positions = await self._positions(names)
            if min(positions.values(), default=min_position) >= min_position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, WAIT_BACKOFF_MAX_S)

    # --- queries

    @guarded
    async def _get(self, name: str, doc_id: str) -> Doc | None:
        try:
            response = await self.client.get(index=self.alias(name), id=doc_id)
        except NotFoundError:
            return None
        source: Doc = response["_source"]
        return source

    async def get_order(self, order_id: str) -> Doc | None:
        """The order status view of one order."""
        return await self._get("order_status", order_id)

    @guarded
    async def customer_orders(self, customer_id: str, limit: int = 100) -> list[Doc]:
        """A customer's orders, newest first (at most `limit`)."""
        response = await self.client.search(
            index=self.alias("customer_orders"),
            query={"term": {"customer_id": customer_id}},
            sort=[{"placed_at": "desc"}, {"order_id": "asc"}],
            size=limit,
        )
        return [hit["_source"] for hit in response["hits"]["hits"]]

    async def get_inventory(self, product_id: str) -> Doc | None:
        """Received, reserved, sold and remaining stock of one product."""
        return await self._get("inventory", product_id)

    @guarded
    async def revenue(self, start: date, end: date) -> list[Doc]:
        """Per day in [start, end]: revenue of orders not cancelled, and their count."""
        response = await self.client.search(
            index=self.alias("revenue"),
            size=0,
            query={
                "bool": {
                    "filter": [
                        {"term": {"counted": True}},
                        {"range": {"day": {"gte": start.isoformat(), "lte": end.isoformat()}}},
                    ]
                }
            },
            aggregations={
                "days": {
                    "date_histogram": {
                        "field": "day",
                        "calendar_interval": "day",
                        "format": "yyyy-MM-dd",
                        "min_doc_count": 0,
                        "extended_bounds": {"min": start.isoformat(), "max": end.isoformat()},
                    },
                    "aggregations": {"revenue": {"sum": {"field": "total"}}},
                }
            },
        )
        return [
            {
                "day": bucket["key_as_string"],
                "revenue": int(bucket["revenue"]["value"]),
                "orders": bucket["doc_count"],
            }
            for bucket in response["aggregations"]["days"]["buckets"]
        ]

    async def get_account(self, account_id: str) -> Doc | None:
        """The balance view of one account."""
        return await self._get("account_balance", account_id)

    @guarded
    async def visible(self, name: str, doc_id: str, version: int) -> bool:
        """Whether a search (not a realtime GET) finds `doc_id` of `name` at >= `version`."""
        response = await self.client.search(
            index=self.alias(name), **visibility_search(doc_id, version)
        )
        return int(response["hits"]["total"]["value"]) > 0

    # --- whole-index reads (rebuild checks, tests)

    @guarded
    async def snapshot(self, index: str) -> dict[str, Doc]:
        """Every doc of an index or alias by id, with its version under `_version`."""
        await self.refresh(index)
        docs: dict[str, Doc] = {}
        response = await self.client.search(
            index=index, size=SCROLL_PAGE, sort=["_doc"], version=True, scroll="1m"
        )
        scroll_id = response.get("_scroll_id")
        try:
            while hits := response["hits"]["hits"]:
                for hit in hits:
                    docs[hit["_id"]] = {**hit["_source"], "_version": hit["_version"]}
                response = await self.client.scroll(scroll_id=scroll_id, scroll="1m")
                scroll_id = response.get("_scroll_id")
        finally:
            if scroll_id:
                await self.client.clear_scroll(scroll_id=scroll_id)
        return docs
