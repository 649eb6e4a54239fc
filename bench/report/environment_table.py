"""The environment table of a report: the machine, the services' versions, data filesystems and
CPU priorities, and the projector settings a run recorded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.report.cpu_probe import describe
from bench.report.tables import Table


def environment_table(env: Mapping[str, Any], projector: Sequence[Mapping[str, str]] = ()) -> Table:
    """Where the run happened; `projector`: the settings the projectors reported during it."""
    rows = [
        ["cpu", f"{env['cpu']} ({env['cores']} cores)"],
        ["memory", f"{env['memory'] / 2**30:.1f} GiB"],
        ["os", env["os"]],
        ["python", env["python"]],
        [
            "git",
            f"{env['git_revision'] or 'unknown'}" + (" (dirty)" if env.get("git_dirty") else ""),
        ],
    ]
    rows += [[name, version or "not reachable"] for name, version in env["services"].items()]
    rows += [[f"{name} data", fs] for name, fs in env.get("data_filesystems", {}).items()]
    if env.get("services_nice"):
        rows.append(["CPU priority", nice_text(env["services_nice"])])
    if projector:
        rows.append(["projector settings", settings_text(projector)])
    probe = [describe(env["cpu_probe"])] if env.get("cpu_probe") else []
    return Table("Environment", ["", ""], rows, probe)


def nice_text(nice: Mapping[str, int]) -> str:
    """Services by nice value, highest priority first: `nice 0: api, postgres; nice 10: …`."""
    levels = sorted(set(nice.values()))
    return "; ".join(
        f"nice {level}: " + ", ".join(name for name, n in nice.items() if n == level)
        for level in levels
    )


def settings_text(projector: Sequence[Mapping[str, str]]) -> str:
    """Recorded projector settings on one line: `k=v, …` per set, sets apart by `; `."""
    return "; ".join(", ".join(f"{k}={v}" for k, v in one.items()) for one in projector)


def run_environment_table(data: Mapping[str, Any]) -> Table:
    """The environment of a run's results, with the projector settings it recorded."""
    return environment_table(data["environment"], data["config"].get("projector_settings", ()))
