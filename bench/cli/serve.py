"""`cqrs-bench serve api | relay | projector`: run one process of the system under test.

Each stops cleanly on SIGTERM or SIGINT: the api lets uvicorn drain in-flight requests; the relay
and the projector finish their current batch (stop_event) and close their clients.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
import uvicorn
import uvloop
from prometheus_client import start_http_server

from bench.stack.registry import LOOPBACK, host_port
from system.config import (
    DEFAULT_API_PORT,
    DEFAULT_PROJECTOR_METRICS_PORT,
    DEFAULT_RELAY_METRICS_PORT,
    Settings,
)

serve = typer.Typer(
    help="Run one process of the system under test in the foreground (`up` runs all three).",
    no_args_is_help=True,
)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # One line per Elasticsearch or Kafka request would drown the log and slow the hot path.
    for chatty in ("elastic_transport", "aiokafka"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _bind_host(settings: Settings) -> str:
    """Loopback for the native stack; all interfaces when the API is addressed by another name
    (docker compose), so that other containers reach the API and scrape /metrics."""
    host, _ = host_port(settings.api_url, DEFAULT_API_PORT)
    return "127.0.0.1" if host in LOOPBACK else "0.0.0.0"


Host = Annotated[
    str | None,
    typer.Option(
        envvar="CQRS_BIND_HOST",
        help="bind address (default: 127.0.0.1; 0.0.0.0 when CQRS_API_URL is not loopback)",
    ),
]


def _run_until_signalled(
    main: Callable[[asyncio.Event], Awaitable[None]], *, on_uvloop: bool = False
) -> None:
    """Run `main(stop_event)` (on uvloop if `on_uvloop`); SIGTERM/SIGINT set the event so it
    can finish and clean up.

    The relay runs on uvloop, as uvicorn runs the api: at 150 orders/s (load runs of 60 s) it
    took 0.66-0.71 ms of CPU per request there, with its pool's reset query gone, against 0.86
    on asyncio's loop. The projector stays on asyncio's: its CPU could not be told apart (1.50
    -> 1.77 and 1.91 -> 1.68 ms in two adjacent pairs), nor its lag."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    if on_uvloop:
        uvloop.run(runner())
    else:
        asyncio.run(runner())


@serve.command()
def api(
    host: Host = None,
    port: Annotated[int | None, typer.Option(help="port (default: from CQRS_API_URL)")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="uvicorn worker processes; with more than one, each scrape of /metrics sees "
            "one worker's counters",
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (FastAPI on uvicorn with uvloop and httptools).

    Test-only knob: CQRS_API_TEST_DELAY_MS=N sleeps N ms in every request.

    The load tests use it to prove coordinated-omission correction; never set it for a benchmark.
    """
    _logging()
    settings = Settings.from_env()
    uvicorn.run(
        "system.api.app:app_from_env",
        factory=True,
        host=host or _bind_host(settings),
        port=port or host_port(settings.api_url, DEFAULT_API_PORT)[1],
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@serve.command()
def relay(
    host: Host = None,
    metrics_port: Annotated[
        int, typer.Option(help="port of the relay's Prometheus /metrics")
    ] = DEFAULT_RELAY_METRICS_PORT,
) -> None:
    """Publish committed events from the outbox to Kafka until stopped."""
    from system.bootstrap import serve_relay

    _logging()
    settings = Settings.from_env()
    start_http_server(metrics_port, addr=host or _bind_host(settings))
    _run_until_signalled(lambda stop: serve_relay(settings, stop), on_uvloop=True)


@serve.command()
def projector(
    only: Annotated[
        list[str] | None,
        typer.Option(
            help="run only this projection (repeatable): order_status, customer_orders, "
            "inventory, revenue, account_balance (default: all)"
        ),
    ] = None,
    host: Host = None,
    metrics_port: Annotated[
        int, typer.Option(help="port of the projector's Prometheus /metrics")
    ] = DEFAULT_PROJECTOR_METRICS_PORT,
    instance_id: Annotated[
        str | None,
        typer.Option(
            help="this instance's static membership id in the projections' consumer groups;"
            " every concurrent instance needs its own (default: a dynamic member)"
        ),
    ] = None,
) -> None:
    """Consume Kafka and keep the Elasticsearch read models up to date until stopped; several
    instances share each topic's partitions (`cqrs-bench up --projectors N`)."""
    from system.projections import PROJECTIONS
    from system.projections.runner import run_projector

    unknown = sorted(set(only or ()) - set(PROJECTIONS))
    if unknown:
        raise typer.BadParameter(
            f"unknown projection(s) {', '.join(unknown)}; known: {', '.join(PROJECTIONS)}",
            param_hint="--only",
        )
    _logging()
    settings = Settings.from_env()
    start_http_server(metrics_port, addr=host or _bind_host(settings))
    _run_until_signalled(lambda stop: run_projector(settings, only, stop, instance_id=instance_id))


def register(app: typer.Typer) -> None:
    """Attach `serve` to the root CLI."""
    app.add_typer(serve, name="serve")
