"""The native stack's lifecycle: services in dependency order, their health, stop and restart.

What `cqrs-bench up | down | restart | status` (`bench/cli/stack.py`), the fault actions and the
test fixtures call. Services are declared in `bench.stack.registry`; api, relay and projector run
under a supervisor each (`bench.stack.supervisor`), so stopping one stops the supervisor and the
service together. `projector` names every projector instance (`bench.stack.projectors`),
`projector-K` one.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from bench.stack import projectors
from bench.stack.priority import background_nice
from bench.stack.process import StackError, pid_alive, stop_pid, tail, wait_until
from bench.stack.registry import SERVICES, Service, apply_priority, service_paths, start_order
from bench.stack.status_view import describe_exit
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
        apply_priority(service, pid)
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
        apply_priority(service, child)  # a supervisor may have spawned it before it was lowered
        return f"started (pid {child}, supervisor {pid})"
    return f"started (pid {pid})"


async def bring_up(settings: Settings, names: list[str] | None = None) -> dict[str, str]:
    """Start the requested services (and their dependencies); concurrently where independent."""
    check_priority_setting()
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


def check_priority_setting() -> None:
    """Refuse a bad `CQRS_BACKGROUND_NICE` before any service is touched."""
    try:
        background_nice()
    except ValueError as exc:
        raise StackError(str(exc)) from exc


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
    check_priority_setting()
    stopped = [
        outcome
        for name in names
        if SERVICES[name].managed(settings)
        and (outcome := await asyncio.to_thread(stop_service, SERVICES[name], settings))
    ]
    await bring_up(settings, names)
    return stopped


__all__ = [
    "bring_down",
    "bring_up",
    "describe_exit",
    "restart_services",
    "stack_status",
]
