"""`cqrs-bench up/down/status` against the real stack. Leaves the stack UP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.stack.lifecycle import load_services
from bench.stack.process import pid_alive, port_open, port_owner
from bench.stack.registry import SERVICES
from system.config import Settings

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "cqrs-bench")
CORE = ["postgres", "kafka", "elasticsearch", "pushgateway", "prometheus"]


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"cqrs-bench {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def status() -> dict[str, dict[str, object]]:
    rows = json.loads(cli("status", "--json", *CORE, check=False).stdout)
    return {r["name"]: r for r in rows}


def test_up_twice_is_idempotent_and_status_reports_all_healthy() -> None:
    cli("up", *CORE)
    before = status()
    cli("up", *CORE)
    after = status()
    assert {n: r["pid"] for n, r in before.items()} == {n: r["pid"] for n, r in after.items()}
    for name in CORE:
        row = after[name]
        assert row["healthy"] is True, row
        assert row["version"], row
        assert isinstance(row["pid"], int), row
    assert str(after["postgres"]["url"]).startswith("postgresql://")
    assert ":" in str(after["kafka"]["url"]) and "//" not in str(after["kafka"]["url"])
    for name in ("elasticsearch", "prometheus", "pushgateway"):
        assert str(after[name]["url"]).startswith("http://")


def test_down_leaves_nothing_behind_then_up_again(settings: Settings) -> None:
    """A full `down` (the system's own processes too), then a full `up` for the other tests."""
    load_services()
    rows = {r["name"]: r for r in json.loads(cli("status", "--json", check=False).stdout)}
    managed = [n for n in SERVICES if SERVICES[n].managed(settings)]
    pids = {n: rows[n]["pid"] for n in managed}
    ports = [p for name in managed for p in SERVICES[name].ports(settings)]
    try:
        cli("down")
        alive = {n: p for n, p in pids.items() if isinstance(p, int) and pid_alive(p)}
        assert alive == {}, f"still running after down: {alive}"
        taken = {p: port_owner(p) for p in ports if port_open("127.0.0.1", p)}
        assert taken == {}, f"ports still in use after down: {taken}"
        assert all(not r["healthy"] and r["pid"] is None for r in status().values())
    finally:
        cli("up")
    after = json.loads(cli("status", "--json").stdout)
    assert all(r["healthy"] for r in after), after


def test_stopping_a_process_leaves_the_services_it_depends_on_running() -> None:
    cli("up", "relay")
    before = status()
    done = cli("down", "relay")
    assert "relay (pid" in done.stdout + done.stderr
    after = status()
    assert {n: r["pid"] for n, r in after.items()} == {n: r["pid"] for n, r in before.items()}
    assert all(row["healthy"] is True for row in after.values())
    cli("up", "relay")
