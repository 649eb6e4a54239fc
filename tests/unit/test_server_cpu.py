"""`bench.micro.server_cpu` reads a process's CPU from the scheduler's statistics: checked against
the kernel's other account of it (`resource.getrusage` of a waited-for child)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

from bench.micro.server_cpu import cpu_seconds, spent

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
WAIT = "import sys\nsys.stdin.read()\n"


def test_a_child_s_cpu_matches_what_the_kernel_bills_it() -> None:
    child = subprocess.Popen([sys.executable, "-c", BURN + WAIT], stdin=subprocess.PIPE)
    try:
        before = cpu_seconds([child.pid])
        assert list(before) == [child.pid]
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        while True:  # until the burn is over: the child then sleeps on its stdin
            after = cpu_seconds([child.pid])
            if after[child.pid] >= 0.3:
                break
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)
    rusage = resource.getrusage(resource.RUSAGE_CHILDREN)
    billed = rusage.ru_utime + rusage.ru_stime - used.ru_utime - used.ru_stime
    assert 0.3 <= after[child.pid] <= billed * 1.05 + 0.01


def test_processes_not_seen_twice_are_left_out() -> None:
    me = os.getpid()
    assert cpu_seconds([me, 2**22 + 1]).keys() == {me}  # no such pid: skipped
    assert spent({me: 1.0, 7: 5.0}, {me: 1.5, 8: 9.0}) == 0.5
