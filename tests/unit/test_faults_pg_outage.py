"""A PostgreSQL restart under an append must read as unavailable (503), never as a 500: the
transaction's exit on the closed connection raises InterfaceError over the outage itself."""

from __future__ import annotations

import asyncpg
import pytest

from system.eventstore.pool import translating_unavailable
from system.resilience import DependencyUnavailable


def _closed_under_a_transaction() -> None:
    try:
        raise asyncpg.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        )
    except asyncpg.ConnectionDoesNotExistError:
        raise asyncpg.InterfaceError(
            "cannot call Transaction.__aexit__(): the underlying connection is closed"
        ) from None


def test_an_interface_error_over_an_outage_is_unavailable() -> None:
    with pytest.raises(DependencyUnavailable), translating_unavailable():
        _closed_under_a_transaction()


def test_an_interface_error_of_our_own_stays_an_error() -> None:
    with pytest.raises(asyncpg.InterfaceError), translating_unavailable():
        raise asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
