"""Where a run happened: hardware, OS, Python, git revision, and each live service's version."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import asyncpg
import httpx

from bench.report.cpu_probe import CpuProbeSummary
from bench.stack.priority import effective_nice
from bench.stack.process import rss_bytes
from bench.stack.registry import service_paths
from bench.stack.volume import data_filesystems
from system.config import Settings


class Environment(TypedDict):
    cpu: str
    cores: int
    memory: int
    os: str
    python: str
    git_revision: str | None
    git_dirty: bool | None
    services: dict[str, str | None]
    services_rss: NotRequired[dict[str, int]]
    services_nice: NotRequired[dict[str, int]]
    data_filesystems: NotRequired[dict[str, str]]
    cpu_probe: NotRequired[CpuProbeSummary]


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip()


def git_revision() -> tuple[str | None, bool | None]:
    """The checked-out commit and whether the work tree differs from it."""
    revision = _git("rev-parse", "HEAD")
    if revision is None:
        return None, None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return revision, (None if status is None else bool(status))


def new_run_id() -> str:
    """UTC timestamp plus short git revision, e.g. `20250101T120000Z-1a2b3c4`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    short = _git("rev-parse", "--short=7", "HEAD")
    return f"{stamp}-{short}" if short else stamp


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_bytes() -> int:
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


async def postgres_version(dsn: str) -> str | None:
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        version: str = await conn.fetchval("SHOW server_version")
        return version
    finally:
        await conn.close()


async def elasticsearch_version(url: str) -> str | None:
    """Distribution and version, and ", C1 JIT only" when its JVMs stop at the first tier."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            body = (await client.get(url)).json()
            nodes = (await client.get(f"{url.rstrip('/')}/_nodes/jvm")).json()
    except (httpx.HTTPError, ValueError):
        return None
    version = body.get("version", {}) if isinstance(body, dict) else {}
    number = version.get("number")
    distribution = version.get("distribution", "elasticsearch")
    if not number:
        return None
    return f"{distribution} {number}" + (", C1 JIT only" if c1_only(nodes) else "")


def c1_only(nodes: Any) -> bool:
    """Whether every node of a `_nodes/jvm` answer runs with -XX:TieredStopAtLevel=1."""
    found = nodes.get("nodes", {}) if isinstance(nodes, dict) else {}
    arguments = [node.get("jvm", {}).get("input_arguments", []) for node in found.values()]
    return bool(arguments) and all("-XX:TieredStopAtLevel=1" in args for args in arguments)


def stack_status() -> list[dict[str, Any]]:
    """`cqrs-bench status --json`'s rows (empty if unavailable)."""
    exe = shutil.which("cqrs-bench")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "status", "--json"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
        rows = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    if not isinstance(rows, list):
        return []
    return [r for r in rows if isinstance(r, dict) and "name" in r]


async def service_versions(
    settings: Settings, stack: list[dict[str, Any]]
) -> dict[str, str | None]:
    """Versions asked of the running services; Postgres and Elasticsearch are queried directly."""
    pg, es = await asyncio.gather(
        postgres_version(settings.pg_dsn), elasticsearch_version(settings.es_url)
    )
    versions = {str(r["name"]): r.get("version") for r in stack}
    return {**versions, "postgres": pg, "elasticsearch": es}


def _service_pids(stack: list[dict[str, Any]]) -> dict[str, int]:
    return {
        str(r["name"]): int(r["pid"])
        for r in stack
        if isinstance(r.get("pid"), int) and r["pid"] > 0
    }


def service_rss(stack: list[dict[str, Any]]) -> dict[str, int]:
    """Resident memory (process and children, bytes) of each native service now."""
    return {name: rss_bytes(pid) for name, pid in _service_pids(stack).items()}


def service_nice(stack: list[dict[str, Any]]) -> dict[str, int]:
    """The CPU priority (`bench.stack.priority.effective_nice`) of each native service now."""
    found = {name: effective_nice(pid) for name, pid in _service_pids(stack).items()}
    return {name: nice for name, nice in found.items() if nice is not None}


def local_data_dirs(settings: Settings) -> dict[str, Path]:
    """The data directories of the services this stack runs natively."""
    names = ("postgres", "kafka", "elasticsearch")
    dirs = {name: service_paths(settings, name).root / "data" for name in names}
    return {name: path for name, path in dirs.items() if path.is_dir()}


async def gather_environment(settings: Settings | None = None) -> Environment:
    """The environment of this run (services are queried live; unreachable ones are null)."""
    settings = settings or Settings.from_env()
    revision, dirty = git_revision()
    stack = await asyncio.to_thread(stack_status)
    return Environment(
        cpu=cpu_model(),
        cores=os.cpu_count() or 1,
        memory=memory_bytes(),
        os=f"{platform.system()} {platform.release()} ({platform.platform()})",
        python=platform.python_version(),
        git_revision=revision,
        git_dirty=dirty,
        services=await service_versions(settings, stack),
        services_rss=service_rss(stack),
        services_nice=service_nice(stack),
        data_filesystems=data_filesystems(local_data_dirs(settings)),
    )


def collect_environment(settings: Settings | None = None) -> Environment:
    """`gather_environment` for callers without a running event loop."""
    return asyncio.run(gather_environment(settings))
