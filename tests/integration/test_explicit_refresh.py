"""With projectors refreshing explicitly (or by `refresh=true` bulks, `immediate`), no index is
refreshed on a schedule, and what a batch wrote becomes searchable even when its first refresh
failed (the retry holds only duplicates)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client import REGISTRY

from system.bootstrap import open_read_store
from system.bus.envelope import COMMITTED_AT_HEADER, encode
from system.config import Settings
from system.domain.events import AccountOpened, Event, MoneyDeposited
from system.projections import PROJECTIONS
from system.projections.pipeline import Received, SharedRefresh
from system.projections.projector import Projector
from system.readstore.elasticsearch import ElasticsearchReadStore
from system.resilience import DependencyUnavailable
from tests.integration.readside_fixtures import isolated, new_id
from tests.unit.projection_stream import envelope

pytestmark = pytest.mark.integration

NAME = "account_balance"


@dataclass
class Record:
    """The fields of a consumed Kafka record that `Projector.process` reads."""

    value: bytes
    offset: int
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class Unused:
    """Stands in for the consumer: `process` hands offsets to `Checkpoints`, never to Kafka."""

    def assignment(self) -> set[Any]:
        return set()

    async def commit(self, offsets: dict[Any, int]) -> None:
        raise AssertionError("process must not commit")


def _received(account: str, version: int, event: Event) -> list[Received]:
    record = Record(
        encode(envelope(account, version, event)),
        version,
        [(COMMITTED_AT_HEADER, str(time.time()).encode())],
    )
    return [Received({"p0": [record]}, time.time())]


def _duplicates() -> float:
    found = REGISTRY.get_sample_value("cqrs_projection_duplicates_total", {"projection": NAME})
    return found or 0.0


async def _intervals(store: ElasticsearchReadStore) -> dict[str, str | None]:
    names = f"{store.alias(NAME)},{store.positions_index},{store.lag_index}"
    found = await store.client.indices.get_settings(index=names, name="index.refresh_interval")
    return {
        index: body["settings"].get("index", {}).get("refresh_interval")
        for index, body in found.body.items()
    }


async def test_a_batch_applied_again_after_a_failed_refresh_becomes_searchable(
    settings: Settings,
) -> None:
    store = open_read_store(
        dataclasses.replace(isolated(settings, "refresh"), projection_refresh="explicit")
    )
    try:
        await store.ensure([NAME])
        assert set((await _intervals(store)).values()) == {"-1"}

        failing = {"left": 1}

        async def refresh(index: str) -> None:
            if failing["left"]:
                failing["left"] -= 1
                raise DependencyUnavailable("elasticsearch", "refresh lost")
            await store.refresh(index)

        account = new_id("refresh")
        projector = Projector(
            PROJECTIONS[NAME], store, Unused(), None, refresh=SharedRefresh(refresh)
        )
        opened = _received(account, 1, AccountOpened(owner_id="u"))
        deposited = _received(account, 2, MoneyDeposited(amount=5))
        failing["left"] = 0
        await projector.process(opened)
        failing["left"] = 1
        with pytest.raises(DependencyUnavailable):
            await projector.process(deposited)
        written = await store.mget(store.alias(NAME), [account])
        assert written[account]["version"] == 2, "the bulk was written"
        assert not await store.visible(NAME, account, 2), "not searchable: no refresh ran"

        before = _duplicates()
        await projector.process(deposited)
        assert _duplicates() == before + 1, "the retry held only a duplicate"
        assert await store.visible(NAME, account, 2), "the retry refreshed what was written"
    finally:
        await store.client.indices.delete(index=f"{store.prefix}-*", ignore_unavailable=True)
        await store.close()


async def test_wait_for_mode_gives_the_read_models_back_their_scheduled_refresh(
    settings: Settings,
) -> None:
    explicit = dataclasses.replace(isolated(settings, "waitfor"), projection_refresh="explicit")
    store = open_read_store(explicit)
    waiting = open_read_store(dataclasses.replace(explicit, projection_refresh="wait_for"))
    try:
        await store.ensure([NAME])
        assert (await _intervals(store)).get(f"{store.alias(NAME)}-0") == "-1"
        await waiting.ensure([NAME])
        intervals = await _intervals(store)
        assert intervals.get(f"{store.alias(NAME)}-0") is None, "the default again: 1 s"
        assert intervals[store.positions_index] == "-1"
    finally:
        await store.client.indices.delete(index=f"{store.prefix}-*", ignore_unavailable=True)
        await store.close()
        await waiting.close()


async def test_immediate_mode_bulks_searchable_and_refreshes_only_a_retry_of_duplicates(
    settings: Settings,
) -> None:
    explicit = dataclasses.replace(isolated(settings, "immediate"), projection_refresh="explicit")
    store = open_read_store(explicit)
    immediate = open_read_store(dataclasses.replace(explicit, projection_refresh="immediate"))
    try:
        await immediate.ensure([NAME])
        assert (await _intervals(store)).get(f"{store.alias(NAME)}-0") == "-1"
        refreshes: list[str] = []

        async def refresh(index: str) -> None:
            refreshes.append(index)
            await store.refresh(index)

        async def lost(index: str) -> None:
            raise DependencyUnavailable("elasticsearch", "refresh lost")

        account = new_id("immediate")
        projector = Projector(
            PROJECTIONS[NAME], immediate, Unused(), None, refresh=SharedRefresh(refresh)
        )
        await projector.process(_received(account, 1, AccountOpened(owner_id="u")))
        assert refreshes == [], "the bulk refreshed its shard itself"
        assert await store.visible(NAME, account, 1)

        deposited = _received(account, 2, MoneyDeposited(amount=5))
        first = Projector(PROJECTIONS[NAME], store, Unused(), None, refresh=SharedRefresh(lost))
        with pytest.raises(DependencyUnavailable):
            await first.process(deposited)
        assert not await store.visible(NAME, account, 2), "written, not yet searchable"
        restarted = Projector(
            PROJECTIONS[NAME], immediate, Unused(), None, refresh=SharedRefresh(refresh)
        )
        await restarted.process(deposited)
        assert refreshes == [store.alias(NAME)], "duplicates only: no bulk ran, so a refresh"
        assert await store.visible(NAME, account, 2)
    finally:
        await store.client.indices.delete(index=f"{store.prefix}-*", ignore_unavailable=True)
        await store.close()
        await immediate.close()
