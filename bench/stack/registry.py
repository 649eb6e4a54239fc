"""The registry of stack services that `cqrs-bench up/down/status/logs` act on.

Extension point — adding a process to the stack (e.g. the system's api, relay, projector)::

    from bench.stack.registry import Service, register_service, http_ok, service_paths
    from bench.stack.process import start_detached

    async def _start(settings: Settings) -> int:
        argv = [sys.executable, "-m", "bench.cli", "serve", "api"]
        return start_detached(argv, service_paths(settings, "api"))

    register_service(Service(
        name="api",
        depends_on=("postgres", "kafka", "elasticsearch"),
        url=lambda s: s.api_url,
        health=lambda s: http_ok(s.api_url + "/health"),
        version=lambda s: asyncio.sleep(0, "0.1.0"),
        start=_start,
        ports=lambda s: [DEFAULT_API_PORT],
    ))

and import that module from `bench.stack.lifecycle.load_services`. `up` starts services in
dependency order (independent ones concurrently), skips any that is already healthy, and
starts natively only services whose `managed(settings)` is True — by default, those whose URL
points at loopback on our default port. A service whose settings point elsewhere (compose, a
remote cluster) is only health-checked and reported, never started or stopped.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.stack.priority import background_nice, lower
from bench.stack.process import ServicePaths
from system.config import Settings

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def host_port(url: str, default_port: int) -> tuple[str, int]:
    """(host, port) of a URL, DSN or bare `host:port`."""
    parts = urlsplit(url if "//" in url else f"//{url}")
    return parts.hostname or "127.0.0.1", parts.port or default_port


def is_local_default(url: str, default_port: int) -> bool:
    """True if `url` is loopback on `default_port`: the native stack's own address."""
    host, port = host_port(url, default_port)
    return host in LOOPBACK and port == default_port


def service_paths(settings: Settings, name: str) -> ServicePaths:
    return ServicePaths(settings.stack_dir / name)


async def http_get_json(url: str, timeout: float = 2.0) -> object:  # noqa: ASYNC109
    """GET `url` and decode JSON; raises on HTTP errors."""
    async with httpx.AsyncClient(timeout=timeout) as client:
        response = await client.get(url)
        response.raise_for_status()
        return response.json()


async def http_ok(url: str, timeout: float = 2.0) -> bool:  # noqa: ASYNC109
    """True if GET `url` answers 2xx."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return (await client.get(url)).is_success
    except httpx.HTTPError:
        return False


def _always(_: Settings) -> bool:
    return True


@dataclass(frozen=True)
class Service:
    """How to start, check and describe one service of the stack.

    - `url`: the address shown by `status` (postgresql:// DSN, host:port, http://).
    - `health`: True when the service is usable (never raises).
    - `version`: read from the live service; None when unreachable.
    - `start`: prepares (downloads, init) and launches the native process, returns its PID
      (recorded in `<stack_dir>/<name>/pid`); None if the service cannot run natively.
    - `managed`: whether `up`/`down` own the native process for these settings.
    - `ports`: ports that must be free before starting.
    - `background`: runs at the background CPU priority (`bench.stack.priority`), behind the
      api and PostgreSQL, which serve the requests a client waits on.
    """

    name: str
    url: Callable[[Settings], str]
    health: Callable[[Settings], Awaitable[bool]]
    version: Callable[[Settings], Awaitable[str | None]]
    start: Callable[[Settings], Coroutine[Any, Any, int]] | None = None
    managed: Callable[[Settings], bool] = _always
    ports: Callable[[Settings], list[int]] = field(default=lambda _s: [])
    depends_on: tuple[str, ...] = ()
    start_timeout: float = 120.0
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 30.0
    background: bool = False


def apply_priority(service: Service, pid: int) -> None:
    """Run the process `pid` started for `service` at the priority the service runs at."""
    if service.background:
        lower(pid, background_nice())


SERVICES: dict[str, Service] = {}


def register_service(service: Service) -> None:
    """Add (or replace) a service; keeps registration order as the default start order."""
    SERVICES[service.name] = service


def start_order(names: list[str] | None = None) -> list[Service]:
    """The requested services plus their dependencies, dependencies first."""
    wanted = names if names else list(SERVICES)
    unknown = [n for n in wanted if n not in SERVICES]
    if unknown:
        raise KeyError(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(SERVICES)}")
    ordered: list[Service] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"dependency cycle: {' -> '.join((*path, name))}")
        service = SERVICES[name]
        for dep in service.depends_on:
            visit(dep, (*path, name))
        if service not in ordered:
            ordered.append(service)

    for name in wanted:
        visit(name, ())
    return ordered
