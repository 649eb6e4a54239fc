"""`cqrs-bench up | down | restart | status | logs`: the native stack (see `bench.stack.registry`).

api, relay and projector run under a supervisor each (`bench.stack.supervisor`): `status` shows
their restarts and last exit, `down` stops the supervisor and the service together.
`up --projectors N` runs N projector instances (`bench.stack.projectors`); in every command
`projector` then names all of them, `projector-K` one.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from bench.stack import projectors
from bench.stack.process import StackError, pid_alive, stop_pid, tail, wait_until
from bench.stack.registry import SERVICES, Service, service_paths, start_order
from bench.stack.status_view import describe_exit, status_table
from bench.stack.supervisor import read_state
from system.config import Settings

console = Console(stderr=True)

#: Modules whose import registers services; later issues append theirs (api, relay, projector).
NATIVE_SERVICE_MODULES = [
    "bench.stack.postgres",
    "bench.stack.kafka",
    "bench.stack.elasticsearch",
    "bench.stack.prometheus",
    "bench.stack.system_services",
]


def load_services() -> None:
    """Import the modules that register services (order = default start order), and register
    as many projector instances as the stack runs."""
    for module in NATIVE_SERVICE_MODULES:
        importlib.import_module(module)
    projectors.register_instances(projectors.live_count(Settings.from_env()))


@dataclass
class ServiceStatus:
    """One row of `status`; `pid` is the service process (the one to signal for a fault)."""

    name: str
    version: str | None
    url: str
    healthy: bool
    pid: int | None
    supervisor_pid: int | None = None
    restarts: int | None = None
    """Restarts by the supervisor since `up` (None: not supervised)."""
    last_exit: dict[str, object] | None = None
    """Its last exit under the supervisor: `code`, `signal`, `at` (epoch s), `uptime_s`."""


async def service_status(service: Service, settings: Settings) -> ServiceStatus:
    healthy = await service.health(settings)
    version = await service.version(settings) if healthy else None
    if not service.managed(settings):
        return ServiceStatus(service.name, version, service.url(settings), healthy, None)
    paths = service_paths(settings, service.name)
    row = ServiceStatus(service.name, version, service.url(settings), healthy, paths.read_pid())
    supervisor = paths.read_supervisor_pid()
    state = read_state(paths.root) if supervisor is not None else None
    if state is not None and state.get("supervisor_pid") == supervisor:
        row.supervisor_pid = supervisor
        row.restarts = int(state.get("restarts", 0))
        row.last_exit = state.get("last_exit")
    return row


async def stack_status(settings: Settings, names: list[str] | None = None) -> list[ServiceStatus]:
    services = start_order(projectors.expand(names) if names else None)
    return list(await asyncio.gather(*(service_status(s, settings) for s in services)))


async def _bring_up(service: Service, settings: Settings, say: Callable[[str], None]) -> str:
    """Make one service healthy; returns a one-line outcome. Raises StackError."""
    paths = service_paths(settings, service.name)
    if not service.managed(settings):
        if await service.health(settings):
            return f"external at {service.url(settings)}, healthy"
        raise StackError(
            f"{service.name}: settings point at {service.url(settings)} (not the native stack) "
            "and it is not healthy there; start it there, or unset the CQRS_* variable to use "
            "the native one."
        )
    if await service.health(settings):
        pid = paths.read_pid()
        return f"already running (pid {pid})" if pid else "already healthy (not started by us)"
    # A supervisor between two restarts of its service is running it: wait, never start twice.
    pid = paths.read_supervisor_pid() or paths.read_pid()
    if pid is None:
        if service.start is None:
            raise StackError(f"{service.name}: cannot be started natively.")
        say("starting")
        start = service.start
        # Starting may block (downloads, initdb, mvn): keep this loop free for the others.
        pid = await asyncio.to_thread(asyncio.run, start(settings))
    else:
        say(f"waiting for pid {pid}")
    say(f"waiting for health (pid {pid})")
    proc_pid: int = pid
    ok = await wait_until(
        lambda: service.health(settings),
        timeout=service.start_timeout,
        interval=0.3,
        alive=lambda: pid_alive(proc_pid),
    )
    if not ok:
        reason = (
            "exited" if not pid_alive(proc_pid) else f"not healthy after {service.start_timeout}s"
        )
        stop_pid(proc_pid, sig=service.stop_signal, timeout=service.stop_timeout)
        raise StackError(
            f"{service.name}: {reason}. Last lines of {paths.log}:\n{tail(paths.log, 25)}\n"
            f"Fix the cause, then `cqrs-bench up {service.name}` "
            f"(full log: `cqrs-bench logs {service.name}`)."
        )
    child = paths.read_pid()
    if child is not None and child != pid:
        return f"started (pid {child}, supervisor {pid})"
    return f"started (pid {pid})"


async def bring_up(settings: Settings, names: list[str] | None = None) -> dict[str, str]:
    """Start the requested services (and their dependencies); concurrently where independent."""
    services = start_order(projectors.expand(names) if names else None)
    outcomes: dict[str, str] = {}
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[svc]:<14}"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks = {s.name: progress.add_task("queued", svc=s.name, total=1) for s in services}
        done: dict[str, asyncio.Future[None]] = {
            s.name: asyncio.get_running_loop().create_future() for s in services
        }

        async def one(service: Service) -> None:
            task = tasks[service.name]
            try:
                for dep in service.depends_on:
                    if dep in done:
                        await done[dep]
                outcome = await _bring_up(
                    service, settings, lambda m: progress.update(task, description=m)
                )
            except BaseException as exc:
                progress.update(task, description="[red]failed[/red]", completed=1)
                done[service.name].set_exception(exc)
                done[service.name].exception()  # mark retrieved
                raise
            outcomes[service.name] = outcome
            progress.update(task, description=f"[green]{outcome}[/green]", completed=1)
            done[service.name].set_result(None)

        results = await asyncio.gather(*(one(s) for s in services), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        messages = [str(e) for e in errors if isinstance(e, StackError)]
        others = [e for e in errors if not isinstance(e, StackError)]
        if others:
            raise others[0]
        raise StackError("\n\n".join(messages))
    return outcomes


def with_dependents(names: list[str]) -> list[str]:
    """`names` plus every registered service that (transitively) depends on one of them."""
    start_order(names)  # validates the names
    found = list(names)
    changed = True
    while changed:
        changed = False
        for service in SERVICES.values():
            if service.name not in found and set(service.depends_on) & set(found):
                found.append(service.name)
                changed = True
    return found


def bring_down(settings: Settings, names: list[str] | None = None) -> list[str]:
    """Stop managed services by PID, dependents first. Returns what was stopped."""
    stopped: list[str] = []
    wanted = set(with_dependents(projectors.expand(names))) if names else None
    # start_order adds dependencies; stopping `relay` must not stop PostgreSQL under others.
    for service in reversed(start_order(sorted(wanted) if wanted else None)):
        if wanted is not None and service.name not in wanted:
            continue
        if not service.managed(settings):
            continue
        outcome = stop_service(service, settings)
        if outcome is not None:
            stopped.append(outcome)
    return stopped


def stop_service(service: Service, settings: Settings) -> str | None:
    """Stop one managed service by PID (its supervisor first, which stops the service too).

    Returns what was stopped, or None if nothing ran.
    """
    paths = service_paths(settings, service.name)
    supervisor = paths.read_supervisor_pid()
    pid = paths.read_pid()
    parts: list[str] = []
    killed = False
    if supervisor is not None:
        # SIGTERM makes it stop the service and exit; stop_pid waits for both (descendants).
        killed = stop_pid(supervisor, sig=signal.SIGTERM, timeout=service.stop_timeout)
        parts.append(f"supervisor {supervisor}")
    if pid is not None and pid_alive(pid):
        killed = stop_pid(pid, sig=service.stop_signal, timeout=service.stop_timeout) or killed
    paths.pid_file.unlink(missing_ok=True)
    paths.supervisor_pid_file.unlink(missing_ok=True)
    if pid is None and supervisor is None:
        return None
    if pid is not None:
        parts.insert(0, f"pid {pid}")
    return f"{service.name} ({', '.join(parts)}{', killed' if killed else ''})"


async def restart_services(settings: Settings, names: list[str]) -> list[str]:
    """Stop the named services only (never their dependents) and bring them up again.

    Services that use them keep running and ride out the gap (they retry); returns what was
    stopped.
    """
    names = projectors.expand(names)
    start_order(names)  # validates the names
    stopped = [
        outcome
        for name in names
        if SERVICES[name].managed(settings)
        and (outcome := await asyncio.to_thread(stop_service, SERVICES[name], settings))
    ]
    await bring_up(settings, names)
    return stopped


def _settings() -> Settings:
    # Health probes fail by design while a service starts; keep client libraries quiet.
    for noisy in ("aiokafka", "asyncio", "elastic_transport", "elasticsearch", "httpx"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    return Settings.from_env()


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(1)


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
    """Start the stack (idempotent: healthy services are left alone)."""
    load_services()
    settings = _settings()
    started = time.monotonic()
    try:
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


__all__ = [
    "bring_down",
    "bring_up",
    "describe_exit",
    "register",
    "restart_services",
    "stack_status",
]
