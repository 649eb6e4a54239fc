"""The JIT compile seconds read from hsperfdata agree with `jstat -compiler` for the stack's JVMs.

The oracle shares no code with `bench/load/jit.py` or the resources sampler: it walks each
service's process tree with `ps` and asks the JDK's own `jstat` for each JVM's compile time.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.load.jit import jit_seconds
from system.config import Settings

pytestmark = pytest.mark.integration


def tree(root: int) -> list[int]:
    """PIDs of the process tree under `root`, from `ps`."""
    ps = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True)
    children: dict[int, list[int]] = {}
    for line in ps.stdout.splitlines():
        pid, ppid = (int(x) for x in line.split())
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def jstat_seconds(pid: int) -> float | None:
    """`jstat -compiler`'s Time column for `pid` (None: not a JVM jstat can see)."""
    jstat = shutil.which("jstat")
    assert jstat is not None, "jstat (the JDK's) is needed as this test's oracle"
    out = subprocess.run([jstat, "-compiler", str(pid)], capture_output=True, text=True)
    lines = out.stdout.split("\n")
    if out.returncode != 0 or not lines[0].startswith("Compiled"):
        return None
    return float(lines[1].split()[3])


@pytest.mark.parametrize("service", ["kafka", "elasticsearch"])
def test_compile_seconds_agree_with_jstat(settings: Settings, service: str) -> None:
    root_file = Path(settings.stack_dir) / service / "supervisor.pid"
    if not root_file.exists():
        root_file = root_file.with_name("pid")
    pids = tree(int(root_file.read_text()))
    before = jit_seconds({service: pids})[service]
    seen = [s for pid in pids if (s := jstat_seconds(pid)) is not None]
    after = jit_seconds({service: pids})[service]
    assert seen, f"jstat saw no JVM in {service}'s tree {pids}"
    # jstat prints two decimals per JVM, and the JVMs may compile between the three reads.
    slack = 0.01 * len(seen)
    assert before - slack <= sum(seen) <= after + slack, (before, seen, after)
    assert before > 1.0  # a started JVM has compiled for seconds: a zero reading proves nothing
