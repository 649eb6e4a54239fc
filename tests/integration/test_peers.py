"""A peer that is not installed fails the peer suite, saying exactly how to install it; our
message-db driver writes as fast as PostgreSQL's own pgbench running `write_message`."""

from __future__ import annotations

import asyncio
import importlib.util
import statistics
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from bench.micro.harness import RUN_TAG, drop_database, spread_over, with_database
from bench.micro.peer_drivers import (
    MESSAGE_DB_SEARCH_PATH,
    WRITE_MESSAGE,
    MessageDbEvents,
    timed,
)
from bench.micro.peers import (
    MESSAGE_DB_DATABASE,
    PeerNotInstalled,
    fresh_message_db,
    install_message_db,
    pgbench_write_message,
    require_eventsourcing,
    require_message_db,
)
from system.config import Settings

pytestmark = pytest.mark.integration


def test_a_database_without_message_db_fails_with_the_install_command(settings: Settings) -> None:
    with pytest.raises(PeerNotInstalled, match=r"run `uv run cqrs-bench install-peers`"):
        asyncio.run(require_message_db(settings.pg_dsn))


def test_a_missing_message_db_database_fails_with_the_install_command(
    settings: Settings,
) -> None:
    dsn = with_database(settings.pg_owner_dsn, "cqrs_bench_no_such_database")
    with pytest.raises(PeerNotInstalled, match=r"npm pack @eventide/message-db"):
        asyncio.run(require_message_db(dsn))


def test_a_missing_eventsourcing_library_fails_with_the_uv_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "eventsourcing" else real(name),
    )
    with pytest.raises(PeerNotInstalled, match=r"uv add 'eventsourcing\[postgres\]'"):
        require_eventsourcing()


def test_installed_peers_pass_the_check(settings: Settings) -> None:
    asyncio.run(install_message_db(settings))
    require_eventsourcing()
    asyncio.run(require_message_db(with_database(settings.pg_owner_dsn, "message_store")))


# --- our message-db driver against PostgreSQL's own tooling

CLIENTS = 16
PER_CLIENT = 40
ROUNDS = 5
TOLERANCE = 1.5


class ColdMessageDbEvents(MessageDbEvents):
    """A planted fault: a fresh connection for every write (connection setup in the timing)."""

    async def run(self, count: int) -> None:
        async def work(worker: int, n: int) -> None:
            for _ in range(n):
                conn = await asyncpg.connect(self.dsn, server_settings=MESSAGE_DB_SEARCH_PATH)
                try:
                    version = self.versions[worker]
                    await conn.execute(
                        WRITE_MESSAGE,
                        str(uuid.uuid4()),
                        f"account-{self.run_id}x{worker}",
                        "MoneyDeposited",
                        '{"amount": 100}',
                        version,
                    )
                    self.versions[worker] += 1
                finally:
                    await conn.close()

        await spread_over(len(self.versions), count, work)


def driver_over_pgbench(
    driver: MessageDbEvents, rounds: int = ROUNDS
) -> tuple[float, list[float], list[float]]:
    """Median messages/s of `driver` over pgbench's, both at CLIENTS connections, in alternating
    rounds of PER_CLIENT writes per connection; and each side's rates."""
    count = CLIENTS * PER_CLIENT
    ours: list[float] = []
    theirs: list[float] = []

    async def measure() -> None:
        await driver.open(CLIENTS)
        try:
            await driver.run(CLIENTS)
            for r in range(rounds):
                if r % 2:
                    theirs.append(pgbench_write_message(driver.dsn, CLIENTS, PER_CLIENT))
                ours.append(count / await timed(driver, count))
                if not r % 2:
                    theirs.append(pgbench_write_message(driver.dsn, CLIENTS, PER_CLIENT))
        finally:
            await driver.close()

    asyncio.run(measure())
    return statistics.median(ours) / statistics.median(theirs), ours, theirs


@pytest.fixture(scope="module")
def message_db(settings: Settings) -> Iterator[str]:
    """message-db as the peers benchmark gets it: installed into a fresh database of its own."""
    asyncio.run(install_message_db(settings))
    database = f"{MESSAGE_DB_DATABASE}_{RUN_TAG}"
    yield asyncio.run(fresh_message_db(settings, database))
    asyncio.run(drop_database(settings.pg_owner_dsn, database))


def test_our_message_db_driver_writes_as_fast_as_pgbench(message_db: str) -> None:
    ratio, ours, theirs = driver_over_pgbench(MessageDbEvents(message_db))
    rates = f"ours {[round(x) for x in ours]} vs pgbench {[round(x) for x in theirs]} messages/s"
    assert 1 / TOLERANCE <= ratio <= TOLERANCE, f"driver / pgbench = {ratio:.2f}: {rates}"


def test_a_driver_that_connects_per_write_is_caught(message_db: str) -> None:
    ratio = driver_over_pgbench(ColdMessageDbEvents(message_db), rounds=3)[0]
    assert ratio < 1 / TOLERANCE, f"the planted fault went unnoticed: driver / pgbench = {ratio}"
