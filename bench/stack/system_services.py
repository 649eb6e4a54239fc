"""The system under test as stack services: api, relay, projector (`cqrs-bench serve …`).

They start after the services they use, each once the event store schema is migrated (an
idempotent, lock-guarded `migrate`, so a fresh machine works), each under its own supervisor
(`bench.stack.supervisor`: restarted with backoff when it dies), and stop with SIGTERM.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Coroutine, Mapping
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

# api, relay and projector depend on these: they must be registered first, whichever module
# imports this one first (bench.stack.projectors does, ahead of `load_services`).
from bench.stack import elasticsearch, kafka, postgres  # noqa: F401
from bench.stack.process import ensure_port_free, start_supervised
from bench.stack.registry import (
    SERVICES,
    Service,
    apply_priority,
    host_port,
    http_ok,
    is_local_default,
    register_service,
    service_paths,
)
from system.config import (
    DEFAULT_API_PORT,
    DEFAULT_PROJECTOR_METRICS_PORT,
    DEFAULT_RELAY_METRICS_PORT,
    Settings,
)

CHILD_STOP_S = 20.0
"""How long a supervisor waits for its service to stop after SIGTERM (below `down`'s 30 s)."""


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("cqrs-bench")
    if script.exists():
        return [str(script)]
    found = shutil.which("cqrs-bench")
    return [found] if found else [sys.executable, "-c", "from bench.cli import main; main()"]


def _metrics_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/metrics"


async def _version(_: Settings) -> str:
    return package_version("cqrs-bench")


def _depends(*names: str) -> tuple[str, ...]:
    """Only the dependencies this stack registers (e.g. no Kafka when pointed elsewhere)."""
    return tuple(name for name in names if name in SERVICES)


def _starter(
    argv: list[str], name: str, port: int, first_env: Mapping[str, str] | None = None
) -> Callable[[Settings], Coroutine[Any, Any, int]]:
    async def start(settings: Settings) -> int:
        ensure_port_free("127.0.0.1", port, name)
        # Imported here: the composition root pulls in every client library (~1.5 s), which
        # `status`, `logs` and `down` never need.
        from system.bootstrap import migrate_event_store

        await migrate_event_store(settings)
        return start_supervised(
            [*_cli(), "serve", *argv],
            service_paths(settings, name),
            stop_timeout=CHILD_STOP_S,
            first_env=first_env,
        )

    return start


async def start_relay_armed(settings: Settings, env: Mapping[str, str]) -> int:
    """Start the (stopped) relay under its supervisor with `env` in its first process only:
    a fault-injection hook (`system/bus/fault_injection.py`) its restarts run without."""
    pid = await _starter(["relay"], "relay", DEFAULT_RELAY_METRICS_PORT, env)(settings)
    apply_priority(SERVICES["relay"], pid)
    return pid


def _api_port(settings: Settings) -> int:
    return host_port(settings.api_url, DEFAULT_API_PORT)[1]


def register() -> None:
    """Add api, relay and projector to the registry, after the backing services."""
    register_service(
        Service(
            name="api",
            url=lambda s: s.api_url,
            health=lambda s: http_ok(s.api_url + "/health"),
            version=_version,
            start=_starter(["api"], "api", DEFAULT_API_PORT),
            managed=lambda s: is_local_default(s.api_url, DEFAULT_API_PORT),
            ports=lambda s: [_api_port(s)],
            depends_on=_depends("postgres", "kafka", "elasticsearch"),
            start_timeout=60.0,
        )
    )
    register_service(_metrics_service("relay", DEFAULT_RELAY_METRICS_PORT, "postgres", "kafka"))
    register_service(
        _metrics_service(
            "projector", DEFAULT_PROJECTOR_METRICS_PORT, "postgres", "kafka", "elasticsearch"
        )
    )


def _metrics_service(name: str, port: int, *depends_on: str) -> Service:
    """A worker process whose only endpoint is its Prometheus /metrics on loopback."""
    url = _metrics_url(port)

    async def health(_: Settings) -> bool:
        return await http_ok(url)

    return Service(
        name=name,
        url=lambda _s: url,
        health=health,
        version=_version,
        start=_starter([name], name, port),
        ports=lambda _s: [port],
        depends_on=_depends(*depends_on),
        start_timeout=60.0,
        background=True,
    )


register()
