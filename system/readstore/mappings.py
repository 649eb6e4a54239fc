"""Index mappings of the read models (strict: a field no projection writes is a bug)."""

from __future__ import annotations

from typing import Any

KEYWORD = {"type": "keyword"}
LONG = {"type": "long"}
INTEGER = {"type": "integer"}
DATE = {"type": "date"}
BOOLEAN = {"type": "boolean"}
TEXT = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}

FRESHNESS = {"version": INTEGER, "position": LONG}
"""On every read model, indexed: visibility searches filter on `version`
(`system/readstore/queries.py`), the index-stage ceiling sorts on `position`
(`bench/lag/es_ceiling.py`)."""

READ_MODELS: dict[str, dict[str, Any]] = {
    "order_status": {
        "order_id": KEYWORD,
        "customer_id": KEYWORD,
        "customer_name": TEXT,
        "status": KEYWORD,
        "total": LONG,
        "item_count": INTEGER,
        "items": {
            "properties": {"product_id": KEYWORD, "quantity": INTEGER, "price": LONG},
        },
        "shipping_address": {"type": "text"},
        "tracking_number": KEYWORD,
        "placed_at": DATE,
        "confirmed_at": DATE,
        "shipped_at": DATE,
        "delivered_at": DATE,
        "cancelled_at": DATE,
        "last_updated": DATE,
    },
    "customer_orders": {
        "order_id": KEYWORD,
        "customer_id": KEYWORD,
        "customer_name": TEXT,
        "status": KEYWORD,
        "total": LONG,
        "placed_at": DATE,
    },
    "inventory": {
        "product_id": KEYWORD,
        "name": TEXT,
        "price": LONG,
        "on_hand": LONG,
        "reserved": LONG,
        "sold": LONG,
        "remaining": LONG,
        "last_updated": DATE,
    },
    "revenue": {
        "order_id": KEYWORD,
        "day": {"type": "date", "format": "strict_date"},
        "total": LONG,
        "counted": BOOLEAN,
    },
    "account_balance": {
        "account_id": KEYWORD,
        "owner_id": KEYWORD,
        "balance": LONG,
        "status": KEYWORD,
        "deposits": INTEGER,
        "withdrawals": INTEGER,
        "reversals": INTEGER,
        "opened_at": DATE,
        "last_updated": DATE,
    },
}
"""Read model name -> field mappings (each also gets `version` and `position`)."""

SEARCHED: dict[str, frozenset[str]] = {
    "order_status": frozenset(),
    "customer_orders": frozenset({"customer_id", "placed_at", "order_id"}),
    "inventory": frozenset(),
    "revenue": frozenset({"counted", "day", "total"}),
    "account_balance": frozenset(),
}
"""The fields a read model's queries filter, sort or aggregate on (`ElasticsearchReadStore`);
the others are kept in `_source` only (`source_only`), still type-checked by the strict mapping.
GETs by id need nothing indexed.

Why (issue 14): a projector refreshes its index after every bulk, and Elasticsearch's write
threads spent most of their CPU in those refreshes (per-thread CPU at 175 orders/s: write
threads 62 % of Elasticsearch's, merges 9 %; 3.5 s indexing against 41 s refreshing in its
node stats). Each refresh writes a segment with postings and doc values for every indexed
field. `python -m bench.load.mapping_cost 400 3` (`bench/load/mapping_cost.py`: 400 bulks of 10
docs with `refresh=true` per index, the two mappings alternated three times) put Elasticsearch's
CPU per bulk with only these indexed at 0.65-0.75 of every field indexed for order_status,
0.66-0.92 for customer_orders, 0.68-0.75 for inventory, and 0.85-1.06 for revenue, whose
fields are nearly all queried (order_status 4.9-6.6 ms against 7.5-8.8 ms).
In `cqrs-bench load --scenario orders --rate 175 --duration 40 --warmup 5`, two alternated
pairs on rebuilt indices: Elasticsearch 0.51 and 0.53 cores against 0.57 and 0.55 (3.20-3.34
against 3.49-3.62 ms per request); the machine's total did not fall (1.68-1.74 cores both
ways), the other services used what Elasticsearch left. Indices created before this keep
their mapping until `cqrs-bench projections rebuild NAME`."""

POSITIONS: dict[str, Any] = {
    "projection": KEYWORD,
    "position": LONG,
    "updated_at": DATE,
    "partitions": {"type": "object", "enabled": False},
}
"""A projection's checkpoint; `partitions` holds each partition's watermark (see
`system/readstore/checkpoint.py`)."""

LAG_BATCHES: dict[str, Any] = {
    "projection": KEYWORD,
    "consumed_at": {"type": "double"},
    "indexed_at": {"type": "double"},
    "searchable_at": {"type": "double"},
    "origin_min": {"type": "double"},
    "origin_max": {"type": "double"},
    "events": {"type": "object", "enabled": False},
}
"""One lag record per projector batch (see `system/projections`): the per-event columns under
`events` are stored, not indexed; only the window bounds are searchable."""


NO_SCHEDULED_REFRESH = "-1"
"""`refresh_interval` of the indices nothing searches before refreshing them itself: the
checkpoints (read by realtime GET) and the lag records (the report refreshes before reading);
and, when projectors refresh themselves (`explicit`, `immediate`), the read models.
Elasticsearch runs every scheduled or requested refresh on one thread per two cores (one
here); measured at 50 orders/s (issue 14), a scheduled refresh took 45-95 ms of it per index,
once a second, on top of the projectors' own."""


def source_only(mapping: dict[str, Any]) -> dict[str, Any]:
    """`mapping` kept in `_source` only: neither indexed nor in doc values (nor a `.keyword`)."""
    if "properties" in mapping:
        return {"properties": {k: source_only(v) for k, v in mapping["properties"].items()}}
    if mapping["type"] == "text":
        return {"type": "text", "index": False}
    return {**mapping, "index": False, "doc_values": False}


def read_model_body(name: str, refresh_interval: str | None = None) -> dict[str, Any]:
    """Settings and mappings for a concrete read-model index (`refresh_interval` None: the
    default, 1 s, as `refresh=wait_for` needs); only `SEARCHED` fields and `FRESHNESS` indexed."""
    settings: dict[str, Any] = {"number_of_shards": 1, "number_of_replicas": 0}
    if refresh_interval is not None:
        settings["refresh_interval"] = refresh_interval
    properties = {
        field: mapping if field in SEARCHED[name] else source_only(mapping)
        for field, mapping in READ_MODELS[name].items()
    }
    return {
        "settings": settings,
        "mappings": {"dynamic": "strict", "properties": {**properties, **FRESHNESS}},
    }


def plain_body(
    properties: dict[str, Any], refresh_interval: str = NO_SCHEDULED_REFRESH
) -> dict[str, Any]:
    """Settings and mappings of a bookkeeping index (checkpoints, lag records)."""
    return {
        "settings": {
            "number_of_shards": 1,
            "number_of_replicas": 0,
            "refresh_interval": refresh_interval,
        },
        "mappings": {"dynamic": "strict", "properties": properties},
    }
