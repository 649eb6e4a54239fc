"""The native services' dependencies hold whichever stack module is imported first."""

from __future__ import annotations

import subprocess
import sys


def test_api_relay_and_projector_wait_for_their_backing_services() -> None:
    # A fresh interpreter: registration happens at import, and the order of imports is the bug.
    probe = (
        "import bench.stack.lifecycle as stack\n"
        "stack.load_services()\n"
        "from bench.stack.registry import SERVICES, start_order\n"
        "print({n: sorted(SERVICES[n].depends_on) for n in ('api', 'relay', 'projector')})\n"
        "print([s.name for s in start_order(['api'])])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    deps, order = done.stdout.splitlines()
    assert deps == str(
        {
            "api": ["elasticsearch", "kafka", "postgres"],
            "relay": ["kafka", "postgres"],
            "projector": ["elasticsearch", "kafka", "postgres"],
        }
    )
    assert order == str(["postgres", "kafka", "elasticsearch", "api"])
