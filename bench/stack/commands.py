"""`cqrs-bench up | down | status | logs`: the native stack (see `bench.stack.registry`)."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.stack.process import StackError, pid_alive, rss_bytes, stop_pid, tail, wait_until
from bench.stack.registry import SERVICES, Service, service_paths, start_order
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
    """Import the modules that register services (order = default start order)."""
    for module in NATIVE_SERVICE_MODULES:
        importlib.import_module(module)


@dataclass
class ServiceStatus:
    name: str
    version: str | None
    url: str
    healthy: bool
    pid: int | None


async def service_status(service: Service, settings: Settings) -> ServiceStatus:
    healthy = await service.health(settings)
    version = await service.version(settings) if healthy else None
    pid = service_paths(settings, service.name).read_pid() if service.managed(settings) else None
    return ServiceStatus(service.name, version, service.url(settings), healthy, pid)


async def stack_status(settings: Settings, names: list[str] | None = None) -> list[ServiceStatus]:
    services = start_order(names)
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
    pid = paths.read_pid()
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
    return f"started (pid {pid})"


async def bring_up(settings: Settings, names: list[str] | None = None) -> dict[str, str]:
    """Start the requested services (and their dependencies); concurrently where independent."""
    services = start_order(names)
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
    wanted = set(with_dependents(names)) if names else None
    # start_order adds dependencies; stopping `relay` must not stop PostgreSQL under others.
    for service in reversed(start_order(sorted(wanted) if wanted else None)):
        if wanted is not None and service.name not in wanted:
            continue
        if not service.managed(settings):
            continue
        paths = service_paths(settings, service.name)
        pid = paths.read_pid()
        if pid is not None:
            killed = stop_pid(pid, sig=service.stop_signal, timeout=service.stop_timeout)
            stopped.append(f"{service.name} (pid {pid}{', killed' if killed else ''})")
        paths.pid_file.unlink(missing_ok=True)
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


def up(services: Services = None) -> None:
    """Start the stack (idempotent: healthy services are left alone)."""
    load_services()
    settings = _settings()
    started = time.monotonic()
    try:
        asyncio.run(bring_up(settings, services))
    except (StackError, KeyError, ValueError) as exc:
        _fail(exc)
    console.print(f"stack up in {time.monotonic() - started:.1f}s")


def down(services: Services = None) -> None:
    """Stop native services by PID (SIGTERM, then SIGKILL); those depending on them first."""
    load_services()
    try:
        stopped = bring_down(_settings(), services)
    except KeyError as exc:
        _fail(exc)
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


def status(
    services: Services = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable list")] = False,
) -> None:
    """Show each service: version, address, health, PID."""
    load_services()
    try:
        rows = asyncio.run(stack_status(_settings(), services))
    except KeyError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        table = Table(title="cqrs-bench stack")
        for col in ("service", "version", "address", "healthy", "pid", "rss"):
            table.add_column(col, overflow="fold")
        total = 0
        for r in rows:
            rss = rss_bytes(r.pid) if r.pid else 0
            total += rss
            table.add_row(
                r.name,
                r.version or "-",
                r.url,
                "[green]yes[/green]" if r.healthy else "[red]no[/red]",
                str(r.pid or "-"),
                f"{rss / 2**20:.0f} MiB" if rss else "-",
            )
        table.add_section()
        table.add_row("total", "", "", "", "", f"{total / 2**20:.0f} MiB")
        Console().print(table)
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
    app.command()(status)
    app.command()(logs)


__all__ = ["bring_down", "bring_up", "register", "stack_status"]
