"""PostgreSQL pools and outages: the pool options that bound every wait, and the driver errors
that mean "PostgreSQL is unavailable" turned into ours.

Every pool built from settings (`pool_options`) runs its statements under a server-side
`statement_timeout` (and a client-side guard a second later, for a frozen server). Errors that
say PostgreSQL cannot be reached, is restarting, is out of connections or timed out
(`PG_UNAVAILABLE`) become `DependencyUnavailable` at the adapter's boundary
(`translating_unavailable`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import asyncpg

from system.config import Settings
from system.resilience import DependencyUnavailable

PG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, and TimeoutError (a client-side command timeout)
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.ConnectionDoesNotExistError,  # the server closed it (restart, terminate)
    asyncpg.exceptions.OperatorInterventionError,  # 57: statement timeout, shutdown, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # 53: too many connections, disk full
    # A pooled connection the server dropped (shutdown) before asyncpg noticed: its protocol is
    # stuck mid-operation and refuses the next query. `Lease` terminates it.
    asyncpg.exceptions.InternalClientError,
)
"""Driver errors that mean "PostgreSQL is unavailable right now", not "this request is wrong"."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether a driver error that escaped the adapter means "PostgreSQL is unavailable"."""
    return isinstance(exc, PG_UNAVAILABLE)


def pool_options(settings: Settings) -> dict[str, Any]:
    """asyncpg pool arguments that bound every wait: connect, statement (server and client)."""
    statement_s = settings.pg_statement_timeout_s
    return {
        "timeout": settings.pg_connect_timeout_s,
        "command_timeout": statement_s + 1.0,
        "server_settings": {"statement_timeout": str(max(1, round(statement_s * 1000)))},
    }


async def keep_session(conn: asyncpg.Connection) -> None:
    """A pool `reset` that sends nothing: for pools whose users leave no session state.

    asyncpg's default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` on every release, a second round trip per append. The event store's statements
    set nothing, listen to nothing and take only transaction-scoped locks; asyncpg still rolls
    back a transaction left open before calling this. The relay's pool uses it too: its LISTEN
    and session advisory lock live on a connection of their own, outside the pool.
    """


STORE_SERVER_SETTINGS = {"plan_cache_mode": "force_generic_plan"}
"""Session settings of every event store connection: plan each statement once.

asyncpg prepares each statement once per connection, but PostgreSQL re-plans a prepared
statement on every execution while it estimates its generic plan dearer than plans for the
actual values, and the append's generic plan (ten arrays of unknown length, three CTEs) always
looks dearer once the tables have statistics: `pg_prepared_statements` showed 394 custom plans
and no generic one after 394 appends, each re-planned at about 0.2-0.3 ms of CPU, more than the
statement's own execution (0.05 ms). Forcing the generic plan took single-event appends at 16
connections from 0.44 to 0.67 of the raw INSERT on a 400,000-event table (interleaved rounds,
shared 2-core machine). Every statement the store sends is planned on its indexes generically,
even on an empty table (tests/integration/test_eventstore_plans.py), and an ANALYZE still
replaces a plan built while the table was small.
"""


def store_pool_options(settings: Settings) -> dict[str, Any]:
    """`pool_options` for a pool only the event store uses: bounded waits, no reset query,
    generic plans (`STORE_SERVER_SETTINGS`)."""
    options = pool_options(settings)
    server_settings = {**options["server_settings"], **STORE_SERVER_SETTINGS}
    return {**options, "server_settings": server_settings, "reset": keep_session}


def unavailable(exc: BaseException) -> DependencyUnavailable | None:
    """`DependencyUnavailable("postgres")` for a driver error that means PostgreSQL is
    unavailable (`PG_UNAVAILABLE`), None for any other."""
    # A transaction's exit on a connection the server just closed raises InterfaceError over
    # the outage itself (seen as a 500 when PostgreSQL restarted under an append).
    over_an_outage = isinstance(exc, asyncpg.InterfaceError) and isinstance(
        exc.__context__, PG_UNAVAILABLE
    )
    if not (isinstance(exc, PG_UNAVAILABLE) or over_an_outage):
        return None
    return DependencyUnavailable("postgres", f"{type(exc).__name__}: {exc}")


@contextlib.contextmanager
def translating_unavailable() -> Iterator[None]:
    """Raise `DependencyUnavailable("postgres")` for any of `PG_UNAVAILABLE`."""
    try:
        yield
    except (*PG_UNAVAILABLE, asyncpg.InterfaceError) as exc:
        ours = unavailable(exc)
        if ours is None:
            raise
        raise ours from exc


class Lease:
    """A pooled connection for one `async with`, awaited at most `timeout_s`; outages raise
    `DependencyUnavailable`.

    A class, not an `asynccontextmanager`: every statement of the event store runs in one, and
    an async generator's machinery cost about 6 µs of the client's CPU per append.
    """

    __slots__ = ("_conn", "_pool", "_timeout_s")

    def __init__(self, pool: asyncpg.Pool, timeout_s: float | None) -> None:
        self._pool = pool
        self._timeout_s = timeout_s
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        with translating_unavailable():
            try:
                # Not acquire(timeout=): its asyncio.wait_for costs a task, ~8 µs per append.
                async with asyncio.timeout(self._timeout_s):
                    conn: asyncpg.Connection = await self._pool.acquire()
            except TimeoutError as exc:
                raise DependencyUnavailable(
                    "postgres", f"no pooled connection free within {self._timeout_s}s"
                ) from exc
        self._conn = conn
        return conn

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        assert conn is not None
        if isinstance(exc, asyncpg.exceptions.InternalClientError):
            conn.terminate()  # never hand this connection out again
        # A connection broken mid-statement (server shutdown) can fail its reset here; asyncpg
        # then terminates it. The body's outcome stands: an append that committed stays
        # acknowledged, an outage stays DependencyUnavailable.
        with contextlib.suppress(Exception):
            await self._pool.release(conn)
        ours = None if exc is None else unavailable(exc)
        if ours is not None:
            raise ours from exc
