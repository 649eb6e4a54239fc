"""A store whose every connection is busy waits `acquire_timeout_s` for one, then says
PostgreSQL is unavailable (a 503 at the API), and appends again once a connection is free."""

from __future__ import annotations

import time

import pytest

from system.bootstrap import open_event_store
from system.config import Settings
from system.resilience import DependencyUnavailable
from tests.integration.eventstore_fixtures import deposit, open_accounts

pytestmark = pytest.mark.integration
WAIT_S = 0.3


async def test_a_busy_pool_is_awaited_for_its_timeout_then_unavailable() -> None:
    settings = Settings.from_env()
    store = await open_event_store(settings, min_size=1, max_size=1)
    store.acquire_timeout_s = WAIT_S
    try:
        (account,) = await open_accounts(store)
        async with store.connection():  # the pool's only connection
            start = time.perf_counter()
            with pytest.raises(DependencyUnavailable) as refused:
                await store.append([deposit(account, 1)])
            waited = time.perf_counter() - start
        assert refused.value.dependency == "postgres"
        assert f"no pooled connection free within {WAIT_S}s" in str(refused.value)
        assert WAIT_S <= waited < WAIT_S + 2.0
        result = await store.append([deposit(account, 1)])  # nothing was written meanwhile
        assert result.versions == {account: 2}
    finally:
        await store.close()
