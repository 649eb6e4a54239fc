from __future__ import annotations

import uuid

import httpx
import pytest
from elasticsearch import AsyncElasticsearch

from bench.stack.elasticsearch import ES_VERSION
from system.config import Settings

pytestmark = pytest.mark.integration


async def test_server_is_elasticsearch_of_the_pinned_version(settings: Settings) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{settings.es_url}/")
    assert response.status_code == 200, response.text
    assert response.headers.get("x-elastic-product") == "Elasticsearch"
    root = response.json()
    assert root["tagline"] == "You Know, for Search"
    assert root["version"]["number"] == ES_VERSION
    assert ES_VERSION.startswith("8.19.")
    es = AsyncElasticsearch(settings.es_url)
    try:
        assert await es.ping()
        info = await es.info()
        assert info["version"]["number"] == ES_VERSION
    finally:
        await es.close()


async def test_index_refresh_search_and_aggregate(settings: Settings) -> None:
    index = f"stack-test-{uuid.uuid4().hex}"
    es = AsyncElasticsearch(settings.es_url)
    try:
        await es.indices.create(
            index=index,
            mappings={
                "properties": {
                    "category": {"type": "keyword"},
                    "amount": {"type": "long"},
                    "note": {"type": "text"},
                }
            },
            settings={"number_of_shards": 1, "number_of_replicas": 0},
        )
        docs = [
            ("books", 1200, "a red book"),
            ("books", 800, "a blue book"),
            ("games", 5000, "a red game"),
            ("music", 300, "a quiet record"),
        ]
        for i, (category, amount, note) in enumerate(docs):
            await es.index(
                index=index,
                id=str(i),
                document={"category": category, "amount": amount, "note": note},
            )
        await es.indices.refresh(index=index)

        found = await es.search(index=index, query={"match": {"note": "red"}})
        assert found["hits"]["total"]["value"] == 2
        assert {h["_id"] for h in found["hits"]["hits"]} == {"0", "2"}

        aggregated = await es.search(
            index=index,
            size=0,
            aggs={
                "by": {
                    "terms": {"field": "category"},
                    "aggs": {"total": {"sum": {"field": "amount"}}},
                }
            },
        )
        buckets = {
            b["key"]: (b["doc_count"], b["total"]["value"])
            for b in aggregated["aggregations"]["by"]["buckets"]
        }
        assert buckets == {"books": (2, 2000.0), "games": (1, 5000.0), "music": (1, 300.0)}
    finally:
        await es.indices.delete(index=index, ignore_unavailable=True)
        await es.close()
