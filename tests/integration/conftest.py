"""Shared fixtures for integration tests: they run against the real stack from `cqrs-bench up`.

If a service is down the tests FAIL (they do not skip) with a message saying how to start it.
"""

from __future__ import annotations

import asyncio

import pytest

from system.config import Settings
from tests.integration.eventstore_fixtures import event_store  # noqa: F401
from tests.integration.readside_fixtures import (  # noqa: F401
    commands,
    drop_isolated,
    projector,
    read_settings,
    read_store,
    relay,
)

#: The services every integration test may rely on.
CORE_SERVICES = ["postgres", "kafka", "elasticsearch", "pushgateway", "prometheus"]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


def check_stack(settings: Settings) -> None:
    """Fail with an actionable message unless every core service is healthy."""
    from bench.stack.lifecycle import load_services, stack_status

    load_services()
    statuses = asyncio.run(stack_status(settings, CORE_SERVICES))
    down = [f"{s.name} ({s.url})" for s in statuses if not s.healthy]
    if down:
        pytest.fail(
            f"stack services not healthy: {', '.join(down)}. "
            "Run `uv run cqrs-bench up` (or `make up`) and retry; "
            "`uv run cqrs-bench logs SERVICE` shows why one failed.",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def stack(settings: Settings) -> Settings:
    """The running stack (checked once per session)."""
    check_stack(settings)
    return settings
