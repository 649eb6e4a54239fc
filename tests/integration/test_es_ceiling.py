"""Elasticsearch's bulk + refresh ceiling against the real node: it measures every batch into
copies of the read models, leaves no index behind, and refuses read models with no docs."""

from __future__ import annotations

import dataclasses

import pytest

from bench.lag.es_ceiling import EsCeilingError, ceiling_row, measure
from system.config import Settings
from system.readstore.elasticsearch import ElasticsearchReadStore
from tests.integration.readside_fixtures import isolated

pytestmark = pytest.mark.integration

NAMES = ["order_status", "revenue"]


async def test_ceiling_measures_each_batch_into_copies_and_removes_them(settings: Settings) -> None:
    own = isolated(settings, "ceiling")
    store = ElasticsearchReadStore(dataclasses.replace(own, projection_refresh="immediate"))
    try:
        await store.ensure(NAMES)
        doc = {"order_id": "o-1", "day": "2026-12-02", "total": 500, "counted": True}
        doc.update(version=1, position=7)
        await store.bulk_versioned(store.alias("revenue"), [("o-1", 1, doc)])
        await store.refresh(store.alias("revenue"))
        with pytest.raises(EsCeilingError, match="no docs in the read models order_status"):
            await measure(store, ["order_status"], rounds=1, batches=1)
        rounds = await measure(store, NAMES, rounds=2, batches=3, batches_per_s=50, budget=1e4)
        assert [len(r) for r in rounds] == [3, 3]
        cut = await measure(store, NAMES, rounds=2, batches=3, batches_per_s=50, budget=0)
        assert [len(r) for r in cut] == [1, 1], "an overrun round stops, keeping one batch"
        assert all(b.index > 0 and b.refresh == 0.0 for r in rounds for b in r)
        explicit = ElasticsearchReadStore(dataclasses.replace(own, projection_refresh="explicit"))
        try:
            refreshed = await measure(explicit, NAMES, rounds=1, batches=3, batches_per_s=50)
        finally:
            await explicit.close()
        assert all(b.index > 0 and b.refresh > 0 for b in refreshed[0]), "refresh timed apart"
        row = ceiling_row(rounds, ["revenue"], refresh_mode="immediate")
        assert row["value"] > 0 and row["low"] <= row["value"] <= row["high"]
        left = await store.client.indices.get(index=f"{store.prefix}-ceiling-*")
        assert dict(left) == {}
        copied = await store.client.count(index=store.alias("revenue"))
        assert copied["count"] == 1, "the live read model is untouched"
    finally:
        await store.client.indices.delete(index=f"{store.prefix}-*", ignore_unavailable=True)
        await store.close()
