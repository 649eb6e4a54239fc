"""Prometheus and the Pushgateway from Debian's `prometheus` and `prometheus-pushgateway`.

We run the binaries ourselves (no systemd): Prometheus with a copy of
`dashboards/prometheus.yml` in `<stack_dir>/prometheus/` (its projector job reads its targets
from `projector-targets.json` beside it, written by `bench/stack/projectors.py`, so the repo
tree holds no generated file), storage under `<stack_dir>/prometheus/data`; the Pushgateway
persisting to `<stack_dir>/pushgateway/metrics`. Both listen on loopback only.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx

from bench.stack.process import StackError, ensure_port_free, start_detached
from bench.stack.projectors import recorded_count, write_scrape_targets
from bench.stack.registry import (
    Service,
    host_port,
    http_get_json,
    http_ok,
    is_local_default,
    register_service,
    service_paths,
)
from system.config import DEFAULT_PROMETHEUS_PORT, DEFAULT_PUSHGATEWAY_PORT, Settings

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIG = REPO / "dashboards" / "prometheus.yml"


def _binary(name: str, package: str) -> str:
    env_name = f"CQRS_{name.upper().replace('-', '_')}_BIN"
    found = os.environ.get(env_name) or shutil.which(name) or f"/usr/bin/{name}"
    if not Path(found).exists():
        raise StackError(f"{name} is missing: `apt-get install -y {package}` (or set {env_name}).")
    return found


async def _build_version(url: str) -> str | None:
    try:
        body = await http_get_json(url)
    except (httpx.HTTPError, ValueError):
        return None
    data = body.get("data", {}) if isinstance(body, dict) else {}
    if "build_information" in data:  # pushgateway /api/v1/status
        data = data["build_information"]
    value = data.get("version") if isinstance(data, dict) else None
    return str(value) if value else None


async def prometheus_health(settings: Settings) -> bool:
    return await http_ok(f"{settings.prometheus_url}/-/ready")


async def prometheus_version(settings: Settings) -> str | None:
    return await _build_version(f"{settings.prometheus_url}/api/v1/status/buildinfo")


async def start_prometheus(settings: Settings) -> int:
    binary = _binary("prometheus", "prometheus")
    paths = service_paths(settings, "prometheus")
    (paths.root / "data").mkdir(parents=True, exist_ok=True)
    host, port = host_port(settings.prometheus_url, DEFAULT_PROMETHEUS_PORT)
    ensure_port_free(host, port, "prometheus")
    config = paths.root / PROMETHEUS_CONFIG.name
    shutil.copyfile(PROMETHEUS_CONFIG, config)
    write_scrape_targets(settings, recorded_count(settings))
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={paths.root / 'data'}",
        "--storage.tsdb.retention.time=7d",
        f"--web.listen-address=127.0.0.1:{DEFAULT_PROMETHEUS_PORT}",
        "--web.enable-lifecycle",
        "--web.enable-admin-api",
        f"--web.console.templates={paths.root}",
        f"--web.console.libraries={paths.root}",
    ]
    return start_detached(argv, paths, cwd=paths.root)


async def pushgateway_health(settings: Settings) -> bool:
    return await http_ok(f"{settings.pushgateway_url}/-/ready")


async def pushgateway_version(settings: Settings) -> str | None:
    return await _build_version(f"{settings.pushgateway_url}/api/v1/status")


async def start_pushgateway(settings: Settings) -> int:
    binary = _binary("prometheus-pushgateway", "prometheus-pushgateway")
    paths = service_paths(settings, "pushgateway")
    paths.root.mkdir(parents=True, exist_ok=True)
    host, port = host_port(settings.pushgateway_url, DEFAULT_PUSHGATEWAY_PORT)
    ensure_port_free(host, port, "pushgateway")
    argv = [
        binary,
        f"--web.listen-address=127.0.0.1:{DEFAULT_PUSHGATEWAY_PORT}",
        f"--persistence.file={paths.root / 'metrics'}",
        "--persistence.interval=5s",
    ]
    return start_detached(argv, paths, cwd=paths.root)


register_service(
    Service(
        name="pushgateway",
        url=lambda s: s.pushgateway_url,
        health=pushgateway_health,
        version=pushgateway_version,
        start=start_pushgateway,
        managed=lambda s: is_local_default(s.pushgateway_url, DEFAULT_PUSHGATEWAY_PORT),
        ports=lambda _s: [DEFAULT_PUSHGATEWAY_PORT],
        start_timeout=30.0,
        background=True,
    )
)
register_service(
    Service(
        name="prometheus",
        url=lambda s: s.prometheus_url,
        health=prometheus_health,
        version=prometheus_version,
        start=start_prometheus,
        managed=lambda s: is_local_default(s.prometheus_url, DEFAULT_PROMETHEUS_PORT),
        ports=lambda _s: [DEFAULT_PROMETHEUS_PORT],
        depends_on=("pushgateway",),
        start_timeout=60.0,
        background=True,
    )
)
