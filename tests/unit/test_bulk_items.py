"""Bulk item statuses: 429/503 items are sent again on their own, 409 is stale, others fail.

The response below is a real one, recorded from the stack's Elasticsearch 8.19: a bulk of two
items where the first index had a `read_only_allow_delete` block (a per-item 429) and the
second took the write. tests/e2e/test_outages_bulk.py provokes the same 429 live.
"""

from __future__ import annotations

from typing import Any

import pytest
from elastic_transport import (
    ApiResponseMeta,
    ConnectionError,
    ConnectionTimeout,
    HttpHeaders,
    NodeConfig,
    SerializationError,
)
from elasticsearch import ApiError

from system.readstore.bulk import BulkError, chunks, is_unavailable, split_bulk_items

RECORDED: dict[str, Any] = {
    "errors": True,
    "items": [
        {
            "index": {
                "status": 429,
                "error": {
                    "type": "cluster_block_exception",
                    "reason": "index [zz-probe-a] blocked by: [TOO_MANY_REQUESTS/12/disk usage "
                    "exceeded flood-stage watermark, index has read-only-allow-delete block];",
                },
            }
        },
        {"index": {"status": 201}},
    ],
}


def _api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "127.0.0.1", 9200),
    )
    return ApiError(f"status {status}", meta, {})


def test_a_429_item_is_retried_and_the_written_one_is_not() -> None:
    statuses, again = split_bulk_items(RECORDED["items"])
    assert statuses == [429, 201]
    assert again == [0]


def test_503_items_are_retried_and_stale_409_items_are_kept_as_refused() -> None:
    items = [{"index": {"status": 503}}, {"index": {"status": 409}}, {"create": {"status": 201}}]
    assert split_bulk_items(items) == ([503, 409, 201], [0])


def test_any_other_refusal_fails_loudly() -> None:
    items = [{"index": {"status": 400, "error": {"type": "mapper_parsing_exception"}}}]
    with pytest.raises(BulkError, match=r"400.*mapper_parsing_exception"):
        split_bulk_items(items)


def test_unreachable_slow_or_overloaded_elasticsearch_counts_as_unavailable() -> None:
    assert is_unavailable(ConnectionError("refused"))
    assert is_unavailable(ConnectionTimeout("timed out"))
    assert is_unavailable(_api_error(429))
    assert is_unavailable(_api_error(503))
    assert not is_unavailable(_api_error(400))
    assert not is_unavailable(_api_error(404))
    assert not is_unavailable(SerializationError("bad json"))


def test_chunks_keep_every_pair_once_under_the_size_bound() -> None:
    pairs = [b"x" * 400_000, b"y" * 400_000, b"z" * 400_000, b"w" * 10]
    assert chunks(pairs) == [[0, 1], [2, 3]]
