"""Each registered scenario has exactly one user class, joined by reference, with a task per
operation of its mix."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.load.registry import SCENARIOS

PROBE = """
import json
from bench.scenarios import locustfile
classes = [getattr(locustfile, name) for name in locustfile.__all__]
print(json.dumps({
    cls.__name__: {
        "scenario": cls.scenario.name if cls.scenario else None,
        "tasks": sorted(t.operation for t in cls.tasks),
    }
    for cls in classes
}))
"""


def test_every_scenario_has_one_user_class_with_a_task_per_operation() -> None:
    # locust patches the interpreter with gevent on import: look from another process.
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    classes = json.loads(out.splitlines()[-1])
    by_scenario: dict[str, list[str]] = {}
    for name, seen in classes.items():
        by_scenario.setdefault(seen["scenario"], []).append(name)
        assert seen["tasks"] == sorted(SCENARIOS[seen["scenario"]].mix), name
    assert sorted(by_scenario) == sorted(SCENARIOS)
    assert all(len(names) == 1 for names in by_scenario.values()), by_scenario
