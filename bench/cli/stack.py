"""`cqrs-bench up | down | restart | status | logs`: the native stack (see `bench.stack.registry`).

api, relay and projector run under a supervisor each (`bench.stack.supervisor`): `status` shows
their restarts and last exit, `down` stops the supervisor and the service together.
`up --projectors N` runs N projector instances (`bench.stack.projectors`); in every command
`projector` then names all of them, `projector-K` one. The work is in `bench.stack.lifecycle`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import asdict
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from bench.cli.common import console, fail
from bench.stack import projectors
from bench.stack.lifecycle import (
    bring_down,
    bring_up,
    check_priority_setting,
    load_services,
    restart_services,
    stack_status,
    stop_service,
)
from bench.stack.process import StackError, tail
from bench.stack.registry import SERVICES, service_paths
from bench.stack.status_view import status_table
from system.config import Settings


def _settings() -> Settings:
    # Health probes fail by design while a service starts; keep client libraries quiet.
    for noisy in ("aiokafka", "asyncio", "elastic_transport", "elasticsearch", "httpx"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    return Settings.from_env()


def _fail(exc: Exception) -> NoReturn:
    fail(str(exc))


Services = Annotated[list[str] | None, typer.Argument(help="services (default: all)")]


def up(
    services: Services = None,
    projector_instances: Annotated[
        int | None,
        typer.Option(
            "--projectors",
            help="run N projector instances sharing the partitions (projector, projector-2, …);"
            " stops any beyond N (default: as many as now, 1 at first)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the stack (idempotent: healthy services are left alone).

    As root, Elasticsearch's data found on ext4 without a journal is moved onto a journaled,
    loop-mounted image (its refreshes cost several times more without one); CQRS_ES_VOLUME=plain
    keeps it where it is, =image always uses the image.

    Elasticsearch, Kafka, the relay, the projectors, Prometheus and the Pushgateway run at nice
    CQRS_BACKGROUND_NICE (default 10, 0-19; 0 shares the CPU evenly), behind the api and
    PostgreSQL: on a machine with few cores, requests then wait less for the CPU.
    """
    load_services()
    settings = _settings()
    started = time.monotonic()
    try:
        check_priority_setting()
        if projector_instances is not None:
            for outcome in projectors.scale(settings, projector_instances, stop_service):
                console.print(f"stopped {outcome}")
        asyncio.run(bring_up(settings, services))
    except (StackError, KeyError, ValueError) as exc:
        _fail(exc)
    console.print(f"stack up in {time.monotonic() - started:.1f}s")


def down(services: Services = None) -> None:
    """Stop native services by PID (SIGTERM, then SIGKILL); those depending on them first.

    `down projector` stops every projector instance, `down projector-2` that one.
    """
    load_services()
    try:
        stopped = bring_down(_settings(), services)
    except KeyError as exc:
        _fail(exc)
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


def restart(
    services: Annotated[list[str], typer.Argument(help="services to restart", show_default=False)],
) -> None:
    """Stop and start the named services only: services using them keep running (and retry).

    `cqrs-bench restart postgres` restarts PostgreSQL under a running api, relay and projector,
    where `down postgres` would stop them first. `restart projector` restarts every projector
    instance, `restart projector-2` that one.
    """
    load_services()
    settings = _settings()
    try:
        stopped = asyncio.run(restart_services(settings, services))
    except (StackError, KeyError, ValueError) as exc:
        _fail(exc)
    console.print("restarted: " + (", ".join(stopped) if stopped else "nothing was running"))


def status(
    services: Services = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable list")] = False,
) -> None:
    """Show each service: version, address, health, PID, memory; for supervised ones (api,
    relay, every projector instance) also restarts and last exit."""
    load_services()
    try:
        rows = asyncio.run(stack_status(_settings(), services))
    except KeyError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        Console().print(status_table(rows))
    if not all(r.healthy for r in rows):
        raise typer.Exit(1)


def logs(
    service: Annotated[str, typer.Argument(help="service name")],
    lines: Annotated[int, typer.Option("-n", "--lines", help="lines to show")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing")] = False,
) -> None:
    """Print a native service's log."""
    load_services()
    if service not in SERVICES:
        _fail(KeyError(f"unknown service {service!r}; known: {', '.join(SERVICES)}"))
    path = service_paths(_settings(), service).log
    if not path.exists():
        _fail(StackError(f"no log yet at {path}; has `cqrs-bench up {service}` run?"))
    if follow:
        os.execvp("tail", ["tail", "-n", str(lines), "-F", str(path)])
    sys.stdout.write(tail(path, lines) + "\n")


def register(app: typer.Typer) -> None:
    """Attach the stack commands to the root CLI."""
    app.command()(up)
    app.command()(down)
    app.command()(restart)
    app.command()(status)
    app.command()(logs)
