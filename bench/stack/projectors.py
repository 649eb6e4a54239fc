"""Projector instances: `cqrs-bench up --projectors N` runs N supervised projectors.

Instance 1 is the service `projector` (metrics on 18002, as ever); instance K >= 2 is the
service `projector-K` with metrics on 18100 + K. Each runs `cqrs-bench serve projector
--instance-id NAME`, so it is a static member of every projection's consumer group under its
service name, and the instances share each topic's partitions (`system/projections/runner.py`).

Prometheus scrapes every instance (job `projector`, label `instance_id`) from
`<stack_dir>/prometheus/projector-targets.json`, written when the instances are scaled and when
Prometheus starts (`bench/stack/prometheus.py`).

The count is recorded in `<stack_dir>/projector/instances` (1 when never set), so `up`,
`status`, `down` and `restart` of a later command see the same instances (and any instance
still running above it). In those commands,
`projector` names every instance and `projector-K` one (`projector-1` is instance 1 alone).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from bench.stack.process import ServicePaths
from bench.stack.registry import SERVICES, Service, register_service, service_paths
from bench.stack.system_services import _metrics_service, _starter
from system.config import DEFAULT_PROJECTOR_METRICS_PORT, Settings

GROUP = "projector"
"""The service name of instance 1, and the name every instance answers to."""
INSTANCE_PORT_BASE = 18100
DEPENDS_ON = ("postgres", "kafka", "elasticsearch")


def instance_name(k: int) -> str:
    """`projector` for instance 1, `projector-K` for the others."""
    return GROUP if k == 1 else f"{GROUP}-{k}"


def instance_port(k: int) -> int:
    """The metrics port of instance `k`."""
    return DEFAULT_PROJECTOR_METRICS_PORT if k == 1 else INSTANCE_PORT_BASE + k


def _count_file(settings: Settings) -> Path:
    return service_paths(settings, GROUP).root / "instances"


def recorded_count(settings: Settings) -> int:
    """How many projector instances the stack runs (1 when never set)."""
    try:
        return max(1, int(_count_file(settings).read_text().strip()))
    except (OSError, ValueError):
        return 1


def live_count(settings: Settings) -> int:
    """The recorded count, or the highest instance whose supervisor still runs if above it
    (one another command started from an older record), so that it is seen and stopped."""
    live = [
        int(path.name.rsplit("-", 1)[1])
        for path in settings.stack_dir.glob(f"{GROUP}-*")
        if path.name.rsplit("-", 1)[1].isdigit()
        and ServicePaths(path).read_supervisor_pid() is not None
    ]
    return max([recorded_count(settings), *live])


def record_count(settings: Settings, n: int) -> None:
    path = _count_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{n}\n")


def scrape_targets_file(settings: Settings) -> Path:
    """Prometheus's file_sd targets of the projector job (beside its config in the stack dir)."""
    return service_paths(settings, "prometheus").root / "projector-targets.json"


def write_scrape_targets(settings: Settings, n: int) -> None:
    """Point the projector job at instances 1..n (atomically: Prometheus may read it anytime)."""
    groups = [
        {"targets": [f"127.0.0.1:{instance_port(k)}"], "labels": {"instance_id": instance_name(k)}}
        for k in range(1, n + 1)
    ]
    path = scrape_targets_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(groups, indent=2) + "\n")
    partial.replace(path)


def _instance(k: int) -> Service:
    name, port = instance_name(k), instance_port(k)
    base = _metrics_service(GROUP, port, *DEPENDS_ON)
    argv = [GROUP, "--instance-id", name, "--metrics-port", str(port)]
    return dataclasses.replace(base, name=name, start=_starter(argv, name, port))


def register_instances(n: int) -> None:
    """Register instances 1..n (replacing the plain `projector`) and drop any above n."""
    for k in range(1, n + 1):
        register_service(_instance(k))
    for name in surplus(n):
        del SERVICES[name]


def surplus(n: int) -> list[str]:
    """Registered instances beyond the first `n`."""
    return [
        name
        for name in SERVICES
        if name.startswith(f"{GROUP}-") and name[len(GROUP) + 1 :].isdigit()
        if int(name[len(GROUP) + 1 :]) > n
    ]


def instances() -> list[str]:
    """Every registered instance's service name, instance 1 first."""
    return [GROUP, *(n for n in SERVICES if n.startswith(f"{GROUP}-"))]


def expand(names: list[str]) -> list[str]:
    """Service names with `projector` standing for every instance and `projector-1` for the
    first; unknown names are left for the registry to refuse."""
    out: list[str] = []
    for name in names:
        found = instances() if name == GROUP else [GROUP] if name == f"{GROUP}-1" else [name]
        out.extend(n for n in found if n not in out)
    return out


def scale(settings: Settings, n: int, stop: Callable[[Service, Settings], str | None]) -> list[str]:
    """Record `n` instances and `stop` those above it (also any left running beyond the
    record); returns what was stopped. `bring_up` then starts the missing ones."""
    if n < 1:
        raise ValueError(f"--projectors must be at least 1, got {n}")
    register_instances(max(n, live_count(settings)))
    stopped = [
        outcome for name in surplus(n) if (outcome := stop(SERVICES[name], settings)) is not None
    ]
    record_count(settings, n)
    write_scrape_targets(settings, n)
    register_instances(n)
    return stopped
