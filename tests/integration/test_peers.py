"""A peer that is not installed fails the peer suite, saying exactly how to install it."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from bench.micro.harness import with_database
from bench.micro.peers import (
    PeerNotInstalled,
    install_message_db,
    require_eventsourcing,
    require_message_db,
)
from system.config import Settings


def test_a_database_without_message_db_fails_with_the_install_command(settings: Settings) -> None:
    with pytest.raises(PeerNotInstalled, match=r"run `uv run cqrs-bench install-peers`"):
        asyncio.run(require_message_db(settings.pg_dsn))


def test_a_missing_message_db_database_fails_with_the_install_command(
    settings: Settings,
) -> None:
    dsn = with_database(settings.pg_dsn, "cqrs_bench_no_such_database")
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
    asyncio.run(require_message_db(with_database(settings.pg_dsn, "message_store")))
