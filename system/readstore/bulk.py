"""Elasticsearch transport concerns of the read store: which client errors mean "unavailable",
and bulk bodies (NDJSON pairs, size-bounded chunks, per-item statuses and retries)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

import orjson
from elastic_transport import SerializationError, TransportError
from elasticsearch import ApiError

from system.resilience import DependencyUnavailable

BULK_CHUNK_BYTES = 900_000
"""Below aiohttp's 1 MiB, past which it warns that a raw body may block the event loop."""
RETRYABLE_ITEM_STATUSES = frozenset({429, 503})
BULK_ITEM_ATTEMPTS = 8
"""Tries of a bulk item refused with a retryable status (backoff 0.1 s doubling to 5 s, ~15 s
in all) before the bulk raises `DependencyUnavailable` and its caller decides."""

P = ParamSpec("P")
R = TypeVar("R")


class BulkError(RuntimeError):
    """Elasticsearch refused a write for a reason other than a stale version."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether an Elasticsearch client error means "unavailable now" (retry), not "wrong"."""
    if isinstance(exc, ApiError):
        status = exc.meta.status
        return status == 429 or status >= 500
    return isinstance(exc, TransportError) and not isinstance(exc, SerializationError)


def guarded(call: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Raise `DependencyUnavailable` where Elasticsearch is unreachable, slow or overloaded."""

    @functools.wraps(call)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await call(*args, **kwargs)
        except (TransportError, ApiError) as exc:
            if not is_unavailable(exc):
                raise
            raise DependencyUnavailable("elasticsearch", f"{type(exc).__name__}: {exc}") from exc

    return wrapper


def split_bulk_items(items: Sequence[Mapping[str, Any]]) -> tuple[list[int], list[int]]:
    """Each bulk item's status, and the indices of the items to send again (429/503).

    Raises `BulkError` for the first item refused for any other reason than a stale version.
    """
    statuses: list[int] = []
    again: list[int] = []
    for index, item in enumerate(items):
        result = next(iter(item.values()))
        status = int(result["status"])
        if status in RETRYABLE_ITEM_STATUSES:
            again.append(index)
        elif status >= 300 and status != 409:
            raise BulkError(f"bulk write refused ({status}): {result.get('error')}")
        statuses.append(status)
    return statuses, again


def ndjson_pairs(lines: Sequence[Mapping[str, Any]]) -> list[bytes]:
    """Action/source pairs as NDJSON, one bytes object per pair."""
    return [
        orjson.dumps(lines[i]) + b"\n" + orjson.dumps(lines[i + 1]) + b"\n"
        for i in range(0, len(lines), 2)
    ]


def chunks(pairs: Sequence[bytes]) -> list[list[int]]:
    """Indices of `pairs`, grouped so no request body exceeds `BULK_CHUNK_BYTES`."""
    chunks: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, pair in enumerate(pairs):
        if current and size + len(pair) > BULK_CHUNK_BYTES:
            chunks.append(current)
            current, size = [], 0
        current.append(index)
        size += len(pair)
    if current:
        chunks.append(current)
    return chunks
