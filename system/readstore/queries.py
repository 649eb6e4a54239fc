"""Query bodies shared by the read store and the harness."""

from __future__ import annotations

from typing import Any


def visibility_search(doc_id: str, version: int) -> dict[str, Any]:
    """A `_search` body that finds `doc_id` only once a refresh exposed it at >= `version`.

    Read-your-writes measures visibility with it: a search sees what a user's query sees,
    where a realtime GET would also see writes no refresh has exposed yet.
    """
    return {
        "query": {
            "bool": {
                "filter": [
                    {"ids": {"values": [doc_id]}},
                    {"range": {"version": {"gte": version}}},
                ]
            }
        },
        "size": 0,
        "track_total_hits": 1,
    }
