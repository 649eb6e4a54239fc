"""A rebuilt index's coverage record, on a real Elasticsearch: written on the concrete index,
read back through the alias; an index without it covers nothing, a missing alias neither."""

from __future__ import annotations

import pytest

from system.bootstrap import open_read_store
from system.config import Settings
from system.readstore.coverage import covered_starts, covers, partition_key, record_covered
from tests.integration.readside_fixtures import isolated

pytestmark = pytest.mark.integration

NAME = "account_balance"


async def test_a_recorded_coverage_is_read_back_through_the_alias(settings: Settings) -> None:
    store = open_read_store(isolated(settings, "cover"))
    try:
        assert await covered_starts(store, NAME) == {}
        await store.ensure([NAME])
        assert await covered_starts(store, NAME) == {}, "the first index covers nothing"

        rebuilt = await store.create_index(NAME)
        starts = {partition_key("t-account", p): 4 + p for p in range(3)}
        await record_covered(store, rebuilt, starts)
        assert await covered_starts(store, NAME) == {}, "not behind the alias yet"
        await store.swap_alias(NAME, rebuilt)

        found = await covered_starts(store, NAME)
        assert found == starts
        assert covers(found, {partition_key("t-account", 2): 6})
        assert not covers(found, {partition_key("t-account", 2): 7})
    finally:
        await store.client.indices.delete(index=f"{store.prefix}-*", ignore_unavailable=True)
        await store.close()
