"""pytest plumbing of the micro suites: the suite, one event loop per session, the databases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from bench.micro.harness import MICRO_DATABASE, Runner, drop_database, recreate_database
from bench.micro.suite import Suite, load_suite
from system.config import Settings
from system.eventstore.postgres import PostgresEventStore
from system.eventstore.schema import migrate


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--suite", default="quick", help="bench/suites/NAME.toml or a path")


@pytest.fixture(scope="session")
def suite(request: pytest.FixtureRequest) -> Suite:
    return load_suite(str(request.config.getoption("--suite")))


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def runner() -> Iterator[Runner]:
    loop = asyncio.new_event_loop()
    try:
        yield Runner(loop)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture(scope="session")
def micro_dsn(runner: Runner, settings: Settings) -> Iterator[str]:
    """A fresh database with the event store schema, for this run only."""
    dsn: str = runner.run(recreate_database(settings.pg_owner_dsn, MICRO_DATABASE))

    async def prepare() -> None:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        try:
            await migrate(pool)
        finally:
            await pool.close()

    runner.run(prepare())
    yield dsn
    runner.run(drop_database(settings.pg_owner_dsn, MICRO_DATABASE))


@pytest.fixture(scope="session")
def store(runner: Runner, micro_dsn: str) -> Iterator[PostgresEventStore]:
    opened: PostgresEventStore = runner.run(
        PostgresEventStore.open(micro_dsn, min_size=2, max_size=4)
    )
    try:
        yield opened
    finally:
        runner.run(opened.close())
