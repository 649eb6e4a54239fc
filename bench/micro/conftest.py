"""pytest plumbing of the micro suites: the suite, one event loop per session, the databases.

Rounds and warm-up rounds come from the suite file (`bench/suites/NAME.toml`), so the
pytest-benchmark options that would otherwise choose them are refused (`pytest_configure`).
Every benchmark is grouped by its results section (`Runner.measure`), and pytest-benchmark's own
storage works as usual: `pytest bench/micro --suite quick --benchmark-autosave`, later
`... --benchmark-compare` (or `--benchmark-compare=0001`, `--benchmark-storage=PATH`) prints
the difference per group; `cqrs-bench compare A B` judges two runs' results.json with intervals.
"""

from __future__ import annotations

import asyncio
import platform
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_benchmark.logger import PytestBenchmarkWarning

from bench.micro.harness import MICRO_DATABASE, Runner, drop_database, recreate_database
from bench.micro.suite import Suite, load_suite
from system.bootstrap import migrate_event_store, open_event_store
from system.config import Settings
from system.eventstore.postgres import PostgresEventStore

SUITE_OWNED_OPTIONS: dict[str, tuple[str, Any]] = {
    "benchmark_min_rounds": ("--benchmark-min-rounds", 5),
    "benchmark_min_time": ("--benchmark-min-time", "0.000005"),
    "benchmark_max_time": ("--benchmark-max-time", "1.0"),
    "benchmark_warmup": ("--benchmark-warmup", platform.python_implementation() == "PyPy"),
    "benchmark_warmup_iterations": ("--benchmark-warmup-iterations", 100000),
    "benchmark_calibration_precision": ("--benchmark-calibration-precision", 10),
    "benchmark_precision": ("--benchmark-precision", None),
    "benchmark_confidence": ("--benchmark-confidence", 0.99),
}
"""pytest-benchmark options `benchmark.pedantic` ignores: dest -> (flag, pytest-benchmark 5's
default; `--benchmark-warmup` `auto` means on under PyPy only)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--suite", default="quick", help="bench/suites/NAME.toml or a path")


def refused_options(config: pytest.Config) -> list[str]:
    """The suite-owned pytest-benchmark options given a value other than their default."""
    return [
        flag
        for dest, (flag, default) in SUITE_OWNED_OPTIONS.items()
        if config.getoption(dest, default=default) != default
    ]


def pytest_configure(config: pytest.Config) -> None:
    """Refuse the options the suite overrides, instead of ignoring them silently.

    pytest-benchmark's own warnings (e.g. `--benchmark-compare` with no saved run yet) stay
    warnings here: the project's `filterwarnings = error` would make them internal errors.
    """
    warnings.filterwarnings("default", category=PytestBenchmarkWarning)
    config.addinivalue_line(
        "filterwarnings", "default::pytest_benchmark.logger.PytestBenchmarkWarning"
    )
    refused = refused_options(config)
    if refused:
        raise pytest.UsageError(
            f"{', '.join(refused)}: not used by the micro suites; their rounds and warm-up rounds"
            f" come from the suite file (bench/suites/NAME.toml, chosen with --suite)"
        )


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

    runner.run(migrate_event_store(settings, dsn=dsn, grant=False))
    yield dsn
    runner.run(drop_database(settings.pg_owner_dsn, MICRO_DATABASE))


@pytest.fixture(scope="session")
def store(runner: Runner, settings: Settings, micro_dsn: str) -> Iterator[PostgresEventStore]:
    opened: PostgresEventStore = runner.run(
        open_event_store(settings, dsn=micro_dsn, min_size=2, max_size=4)
    )
    try:
        yield opened
    finally:
        runner.run(opened.close())
