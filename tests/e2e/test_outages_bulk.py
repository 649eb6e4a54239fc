"""A per-item 429 inside a bulk, provoked for real, is retried for those items only, not fatal.

Elasticsearch answers 429 (`cluster_block_exception`, TOO_MANY_REQUESTS) per item for an index
under a `read_only_allow_delete` block, the block it sets itself at the flood-stage disk
watermark; the other items of the same bulk are written. The block is lifted while the store
backs off, and the blocked items must then land, while the others must not be sent twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest

from system.bootstrap import open_read_store
from system.config import Settings
from system.metrics import BULK_ITEM_RETRIES
from system.readstore.elasticsearch import ElasticsearchReadStore

pytestmark = pytest.mark.e2e

BLOCK = "index.blocks.read_only_allow_delete"


@pytest.fixture
async def store(stack: Settings) -> AsyncIterator[ElasticsearchReadStore]:
    prefix = f"bulk429-{uuid.uuid4().hex[:8]}"
    store = open_read_store(dataclasses.replace(stack, es_index_prefix=prefix))
    yield store
    await store.client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
    await store.close()


async def test_items_refused_with_429_are_sent_again_alone_until_written(
    store: ElasticsearchReadStore,
) -> None:
    blocked, open_ = store.alias("blocked"), store.alias("open")
    for index in (blocked, open_):
        await store.client.indices.create(index=index, settings={"number_of_replicas": 0})
    await store.client.indices.put_settings(index=blocked, settings={BLOCK: True})
    lines = []
    for index, doc_id in [(blocked, "a1"), (open_, "b1"), (blocked, "a2"), (open_, "b2")]:
        lines += [{"index": {"_index": index, "_id": doc_id}}, {"n": doc_id}]
    retried = BULK_ITEM_RETRIES.labels("429")
    before = retried._value.get()

    async def lift_block() -> None:
        while retried._value.get() == before:  # noqa: ASYNC110 (a counter, not an event)
            await asyncio.sleep(0.01)
        await store.client.indices.put_settings(index=blocked, settings={BLOCK: None})

    lifter = asyncio.create_task(lift_block())
    async with asyncio.timeout(30):
        statuses = await store._bulk(lines)
    await lifter

    assert len(statuses) == 4
    assert all(200 <= status < 300 for status in statuses), statuses
    assert retried._value.get() - before >= 2  # both blocked items, at least once
    for doc_id in ("a1", "a2"):
        assert (await store.client.get(index=blocked, id=doc_id))["_source"] == {"n": doc_id}
    for doc_id in ("b1", "b2"):
        written = await store.client.get(index=open_, id=doc_id)
        assert written["_version"] == 1, f"{doc_id} was sent again with the blocked items"
