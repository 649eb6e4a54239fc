"""The composition root: the one place that builds pools, clients, adapters and handlers.

Entry points (the api, the projection tools, the harness, the tests) get their event store,
read store and handlers from here, built from `Settings`, and close what they opened.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from aiokafka.client import AIOKafkaClient

from system.app.commands import CommandHandlers
from system.app.queries import QueryHandlers
from system.app.repository import Repository
from system.app.retry import RetryPolicy
from system.bus import kafka, relay
from system.bus.fault_injection import relay_outbox
from system.bus.kafka import KafkaPublisher
from system.config import Settings, dsn_user
from system.eventstore import pool as postgres_pool
from system.eventstore.outbox import PostgresOutbox
from system.eventstore.pool import (
    keep_session,
    pool_options,
    store_pool_options,
    translating_unavailable,
)
from system.eventstore.postgres import PostgresEventStore
from system.eventstore.schema import migrate
from system.ports import EventStore, ReadModels
from system.readstore import bulk
from system.readstore.elasticsearch import ElasticsearchReadStore
from system.resilience import DependencyUnavailable

HEALTH_TIMEOUT_S = 2.0
UNPINNED_ATTEMPTS = 3
"""Tries for a command without If-Match that loses a race (a pinned one fails at once: 409)."""


Probe = Callable[[], Awaitable[object]]
"""A health check: fails, times out or returns False when its service is down."""


@dataclass(frozen=True)
class Container:
    """Everything a request handler may use, built from Settings and closed together."""

    settings: Settings
    events: EventStore
    commands: CommandHandlers
    read_store: ReadModels
    queries: QueryHandlers
    probes: Mapping[str, Probe]
    """Backing service → its health check (built by `bootstrap` from the adapters)."""

    async def health(self) -> dict[str, str]:
        """`ok` or the failure, per backing service (Postgres, Kafka, Elasticsearch)."""
        results = await asyncio.gather(*(_probe(check) for check in self.probes.values()))
        return dict(zip(self.probes, results, strict=True))


def _probes(
    settings: Settings, events: PostgresEventStore, read_store: ElasticsearchReadStore
) -> dict[str, Probe]:
    async def postgres() -> object:
        async with events.connection() as conn:
            return await conn.fetchval("SELECT 1")

    async def elasticsearch() -> bool:
        # The integ-test-zip serves no `GET /`, so ping() fails on it: ask the cluster instead.
        health = await read_store.client.cluster.health()
        return bool(health["status"] != "red")

    return {
        "postgres": postgres,
        "kafka": lambda: _kafka_metadata(settings.kafka_bootstrap),
        "elasticsearch": elasticsearch,
    }


def unavailable_dependency(exc: BaseException) -> DependencyUnavailable | None:
    """Our error for a driver error that escaped an adapter and means its service is down
    (each adapter says which of its driver's errors mean so); None for any other error."""
    for dependency, is_unavailable in (
        ("postgres", postgres_pool.is_unavailable),
        ("elasticsearch", bulk.is_unavailable),
        ("kafka", kafka.is_unavailable),
    ):
        if is_unavailable(exc):
            return DependencyUnavailable(dependency, type(exc).__name__)
    return None


async def _probe(check: Probe) -> str:
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


async def migrate_event_store(
    settings: Settings, *, dsn: str | None = None, grant: bool = True
) -> None:
    """Create or update the event store's schema on `dsn` (default: the owner role's
    `settings.pg_owner_dsn`), granting `settings.pg_dsn`'s role its share when `grant`."""
    owner = await asyncpg.create_pool(dsn or settings.pg_owner_dsn, min_size=1, max_size=1)
    try:
        await migrate(owner, dsn_user(settings.pg_dsn) if grant else None)
    finally:
        await owner.close()


async def open_relay_outbox(settings: Settings) -> PostgresOutbox:
    """The relay's outbox on a small pool of its own (bounded waits, no reset query: the lock
    and the LISTEN live on the leader's own connection, see `PostgresOutbox.lead`), with the
    crash-after-ack hook when configured; close its `pool`.

    Raises `DependencyUnavailable` while PostgreSQL cannot be reached.
    """
    with translating_unavailable():
        outbox_pool: asyncpg.Pool = await asyncpg.create_pool(
            settings.pg_dsn, min_size=1, max_size=4, reset=keep_session, **pool_options(settings)
        )
    return relay_outbox(outbox_pool, settings.relay_crash_after_ack)


def open_publisher(settings: Settings) -> KafkaPublisher:
    """The relay's idempotent Kafka producer for `settings`; `close()` it."""
    return KafkaPublisher(settings.kafka_bootstrap, timeout_s=settings.kafka_timeout_s)


async def serve_relay(settings: Settings, stop: asyncio.Event) -> None:
    """The outbox relay wired from `settings`, until `stop` is set (see `system.bus.relay`)."""
    await relay.run_relay(
        settings,
        stop,
        open_outbox=lambda: open_relay_outbox(settings),
        open_publisher=lambda: open_publisher(settings),
    )


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
                probes=_probes(settings, events, read_store),
            )
        finally:
            await read_store.close()
    finally:
        await pool.close()
