"""The composition root: the one place that builds pools, clients, adapters and handlers.

Entry points (the api, the projection tools, the harness, the tests) get their event store,
read store and handlers from here, built from `Settings`, and close what they opened.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from aiokafka.client import AIOKafkaClient

from system.app.commands import CommandHandlers
from system.app.queries import QueryHandlers
from system.app.repository import Repository
from system.app.retry import RetryPolicy
from system.bus import kafka
from system.config import Settings
from system.eventstore import pool
from system.eventstore.pool import store_pool_options
from system.eventstore.postgres import PostgresEventStore
from system.readstore import bulk
from system.readstore.elasticsearch import ElasticsearchReadStore
from system.resilience import DependencyUnavailable

HEALTH_TIMEOUT_S = 2.0
UNPINNED_ATTEMPTS = 3
"""Tries for a command without If-Match that loses a race (a pinned one fails at once: 409)."""


@dataclass(frozen=True)
class Container:
    """Everything a request handler may use, built from Settings and closed together."""

    settings: Settings
    events: PostgresEventStore
    commands: CommandHandlers
    read_store: ElasticsearchReadStore
    queries: QueryHandlers

    async def health(self) -> dict[str, str]:
        """`ok` or the failure, per backing service (Postgres, Kafka, Elasticsearch)."""
        checks: dict[str, Callable[[], Awaitable[object]]] = {
            "postgres": self._postgres,
            "kafka": lambda: _kafka_metadata(self.settings.kafka_bootstrap),
            "elasticsearch": self._elasticsearch,
        }
        results = await asyncio.gather(*(_probe(check) for check in checks.values()))
        return dict(zip(checks, results, strict=True))

    async def _postgres(self) -> object:
        async with self.events.connection() as conn:
            return await conn.fetchval("SELECT 1")

    async def _elasticsearch(self) -> bool:
        # The integ-test-zip serves no `GET /`, so ping() fails on it: ask the cluster instead.
        health = await self.read_store.client.cluster.health()
        return bool(health["status"] != "red")


def unavailable_dependency(exc: BaseException) -> DependencyUnavailable | None:
    """Our error for a driver error that escaped an adapter and means its service is down
    (each adapter says which of its driver's errors mean so); None for any other error."""
    for dependency, is_unavailable in (
        ("postgres", pool.is_unavailable),
        ("elasticsearch", bulk.is_unavailable),
        ("kafka", kafka.is_unavailable),
    ):
        if is_unavailable(exc):
            return DependencyUnavailable(dependency, type(exc).__name__)
    return None


async def _probe(check: Callable[[], Awaitable[object]]) -> str:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            outcome = await check()
    except TimeoutError:
        return f"timed out after {HEALTH_TIMEOUT_S}s"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok" if outcome is not False else "unreachable"


async def _kafka_metadata(bootstrap_servers: str) -> None:
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=2000)
    try:
        await client.bootstrap()
    finally:
        await client.close()


async def open_event_store(
    settings: Settings, *, dsn: str | None = None, min_size: int = 2, max_size: int = 20
) -> PostgresEventStore:
    """An event store with its own pool on `dsn` (default `settings.pg_dsn`); `close()` it."""
    return await PostgresEventStore.open(
        dsn or settings.pg_dsn, min_size=min_size, max_size=max_size
    )


def open_read_store(settings: Settings) -> ElasticsearchReadStore:
    """The read store for `settings` (its client connects on first use); `close()` it."""
    return ElasticsearchReadStore(settings)


@asynccontextmanager
async def bootstrap(settings: Settings, *, pool_size: int = 20) -> AsyncIterator[Container]:
    """Open the adapters for `settings`, wire the handlers, close everything on exit.

    Nothing here waits for a backing service: the pool connects on first use (min_size 0), so
    the api starts, and answers 503, while PostgreSQL is down. Every wait is bounded (see
    `store_pool_options`, `Settings.pg_acquire_timeout_s`, `Settings.es_timeout_s`).
    """
    pool = await asyncpg.create_pool(
        settings.pg_dsn, min_size=0, max_size=pool_size, **store_pool_options(settings)
    )
    try:
        events = PostgresEventStore(pool, acquire_timeout_s=settings.pg_acquire_timeout_s)
        read_store = open_read_store(settings)
        try:
            yield Container(
                settings=settings,
                events=events,
                commands=CommandHandlers(events, settings, RetryPolicy(UNPINNED_ATTEMPTS)),
                read_store=read_store,
                queries=QueryHandlers(read_store, Repository(events, settings.snapshot_every)),
            )
        finally:
            await read_store.close()
    finally:
        await pool.close()
