"""`cqrs-bench load` refuses bad input before touching the stack, naming the flag."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from bench import load_commands


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    load_commands.register(app)
    app.command("noop")(lambda: None)
    return app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "5", "--users", "3"], "either --rate"),
        ([], "give --rate"),
        (["--rate", "5", "--duration", "-1"], "--duration must be positive"),
        (["--rate", "5", "--scenario", "nope"], "--scenario: unknown scenario 'nope'"),
        (["--rate", "-2"], "--rate must be positive"),
    ],
)
def test_bad_input_fails_with_the_flag_named(
    app: typer.Typer, args: list[str], message: str
) -> None:
    base = {"--scenario": "orders", "--duration": "5"}
    for i in range(0, len(args) - 1):
        if args[i] in base:
            base.pop(args[i])
    argv = ["load", *[x for kv in base.items() for x in kv], *args]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
