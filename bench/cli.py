"""The `cqrs-bench` command: one entry point, one sub-command group per concern."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="cqrs-bench",
    help="Benchmark harness for CQRS + Event Sourcing around a real system under test.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _register() -> None:
    """Attach each concern's commands; each module exposes `register(app)`."""
    from bench.stack import commands as stack_commands

    stack_commands.register(app)
    __import__("bench.db_commands", fromlist=["register"]).register(app)
    __import__("bench.serve_commands", fromlist=["register"]).register(app)
    __import__("bench.projection_commands", fromlist=["register"]).register(app)
    __import__("bench.load_commands", fromlist=["register"]).register(app)
    __import__("bench.micro_commands", fromlist=["register"]).register(app)


def main() -> None:
    """Console-script entry point."""
    _register()
    app()
