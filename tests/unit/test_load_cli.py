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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "-5"], "--rate must be positive"),
        (["--duration", "0"], "--duration must be positive"),
        (["--workers", "-1"], "--workers must not be negative"),
        (["--route", "/orders"], "--route must be one of /health/live, /health"),
    ],
)
def test_calibrate_refuses_bad_input_naming_the_flag(
    app: typer.Typer, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["calibrate", *args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_load_refuses_the_calibration_scenario_and_a_negative_calibration(
    app: typer.Typer,
) -> None:
    runner = CliRunner()
    base = ["load", "--duration", "5", "--rate", "5"]
    result = runner.invoke(app, [*base, "--scenario", "calibration"])
    assert result.exit_code == 1
    assert "cqrs-bench calibrate" in " ".join(result.output.split())
    result = runner.invoke(app, [*base, "--scenario", "orders", "--calibration", "-1"])
    assert result.exit_code == 1
    assert "--calibration must not be negative" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("audit_passed", "valid", "status"),
    [(True, True, 0), (False, True, 2), (True, False, 3), (False, False, 2)],
)
def test_exit_status_is_2_for_a_failed_audit_even_when_the_run_is_also_invalid(
    audit_passed: bool, valid: bool, status: int
) -> None:
    assert load_commands.exit_status(audit_passed=audit_passed, valid=valid) == status
