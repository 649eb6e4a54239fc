"""The read side's storage: Elasticsearch indices behind aliases, idempotent writes, queries."""

from __future__ import annotations

from system.readstore.elasticsearch import BulkOutcome, ElasticsearchReadStore

__all__ = ["BulkOutcome", "ElasticsearchReadStore"]
