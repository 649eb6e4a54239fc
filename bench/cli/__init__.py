"""The `cqrs-bench` command: one entry point, one sub-command group per concern."""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="cqrs-bench",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.callback()
def _root() -> None:
    """Benchmark harness for CQRS + Event Sourcing around a real system under test."""


COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "bench.stack.commands": ("up", "down", "restart", "status", "logs"),
    "bench.db_commands": ("db", "events"),
    "bench.serve_commands": ("serve",),
    "bench.projection_commands": ("projections",),
    "bench.load_commands": ("load", "calibrate"),
    "bench.audit.command": ("audit",),
    "bench.micro_commands": ("micro", "report", "compare", "install-peers"),
    "bench.readme_commands": ("readme",),
    "bench.dashboard_commands": ("dashboards", "grafana"),
    "bench.faults_commands": ("faults",),
    "bench.saturate.command": ("saturate",),
}
"""Which module registers which top-level commands (each module exposes `register(app)`)."""


def _modules_for(argv: list[str]) -> list[str]:
    """Only the module that owns the invoked command, so `serve` and `up` start fast (the load
    and report modules pull in locust and matplotlib); every module for help or a typo."""
    if argv:
        for module, commands in COMMAND_MODULES.items():
            if argv[0] in commands:
                return [module]
    return list(COMMAND_MODULES)


def register(argv: list[str] | None = None) -> typer.Typer:
    """Attach the commands `argv` needs (all of them when `argv` is None)."""
    modules = list(COMMAND_MODULES) if argv is None else _modules_for(argv)
    for module in modules:
        importlib.import_module(module).register(app)
    return app


def main() -> None:
    """Console-script entry point."""
    register(sys.argv[1:])
    app()
