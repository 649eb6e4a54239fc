"""The `cqrs-bench` command: one entry point, one module per command group.

Each group's module exposes `register(app)`. A group is imported only when its command is
invoked, so `serve` and `up` start fast (the load and report groups pull in matplotlib and the
load runner); `--help` or a typo registers every group.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import typer

app = typer.Typer(
    name="cqrs-bench",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


@app.callback()
def _root() -> None:
    """Benchmark harness for CQRS + Event Sourcing around a real system under test."""


def _stack(root: typer.Typer) -> None:
    from bench.cli import stack

    stack.register(root)


def _db(root: typer.Typer) -> None:
    from bench.cli import db

    db.register(root)


def _serve(root: typer.Typer) -> None:
    from bench.cli import serve

    serve.register(root)


def _projections(root: typer.Typer) -> None:
    from bench.cli import projections

    projections.register(root)


def _load(root: typer.Typer) -> None:
    from bench.cli import load

    load.register(root)


def _audit(root: typer.Typer) -> None:
    from bench.cli import audit

    audit.register(root)


def _micro(root: typer.Typer) -> None:
    from bench.cli import micro

    micro.register(root)


def _report(root: typer.Typer) -> None:
    from bench.cli import report

    report.register(root)


def _readme(root: typer.Typer) -> None:
    from bench.cli import readme

    readme.register(root)


def _dashboards(root: typer.Typer) -> None:
    from bench.cli import dashboards

    dashboards.register(root)


def _faults(root: typer.Typer) -> None:
    from bench.cli import faults

    faults.register(root)


def _saturate(root: typer.Typer) -> None:
    from bench.cli import saturate

    saturate.register(root)


@dataclass(frozen=True)
class Group:
    """A command group: its name, the top-level commands it registers, and how."""

    name: str
    commands: tuple[str, ...]
    register: Callable[[typer.Typer], None]


GROUPS: tuple[Group, ...] = (
    Group("stack", ("up", "down", "restart", "status", "logs"), _stack),
    Group("db", ("db", "events"), _db),
    Group("serve", ("serve",), _serve),
    Group("projections", ("projections",), _projections),
    Group("load", ("load", "calibrate"), _load),
    Group("audit", ("audit",), _audit),
    Group("micro", ("micro", "install-peers"), _micro),
    Group("report", ("report", "compare"), _report),
    Group("readme", ("readme",), _readme),
    Group("dashboards", ("dashboards", "grafana"), _dashboards),
    Group("faults", ("faults",), _faults),
    Group("saturate", ("saturate",), _saturate),
)
"""Every command group, in the order `--help` lists them."""


def _groups_for(argv: list[str]) -> list[Group]:
    """Only the group that owns the invoked command; every group for help or a typo."""
    if argv:
        for group in GROUPS:
            if argv[0] in group.commands:
                return [group]
    return list(GROUPS)


def register(argv: list[str] | None = None) -> typer.Typer:
    """Attach the commands `argv` needs (all of them when `argv` is None)."""
    for group in GROUPS if argv is None else _groups_for(argv):
        group.register(app)
    return app


def main() -> None:
    """Console-script entry point."""
    register(sys.argv[1:])
    app()
