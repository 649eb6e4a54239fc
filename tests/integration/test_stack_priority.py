"""The live stack runs its background services behind the api and PostgreSQL, and a bad
`CQRS_BACKGROUND_NICE` is refused before anything is touched. Leaves the stack UP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.stack.lifecycle import load_services
from bench.stack.priority import DEFAULT_NICE, NICE_VARIABLE, effective_nice
from bench.stack.process import descendants
from bench.stack.registry import SERVICES

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "cqrs-bench")


def pids() -> dict[str, int]:
    done = subprocess.run(
        [CLI, "status", "--json"], capture_output=True, text=True, timeout=120, check=False
    )
    return {r["name"]: r["pid"] for r in json.loads(done.stdout) if isinstance(r["pid"], int)}


def test_each_service_runs_at_the_priority_its_registry_entry_names() -> None:
    assert os.environ.get(NICE_VARIABLE, "") == "", "the suite runs with the default setting"
    load_services()
    live = pids()
    assert {"api", "postgres", "elasticsearch", "kafka", "relay", "projector"} <= set(live)
    for name, pid in live.items():
        expected = DEFAULT_NICE if SERVICES[name].background else 0
        # Elasticsearch's JVM is a child of its launcher; PostgreSQL's backends of the postmaster.
        family = {pid, *descendants(pid)}
        assert {effective_nice(p) for p in family} - {None} == {expected}, name
    assert not SERVICES["api"].background and not SERVICES["postgres"].background


@pytest.mark.parametrize("command", [["up"], ["restart", "relay"]])
def test_a_bad_setting_is_refused_and_leaves_every_service_running(command: list[str]) -> None:
    before = pids()
    done = subprocess.run(
        [CLI, *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, NICE_VARIABLE: "20"},
    )
    assert done.returncode != 0
    assert f"{NICE_VARIABLE}='20'" in done.stderr + done.stdout
    assert pids() == before
