"""`cqrs-bench load` refuses bad input before touching the stack, naming the flag."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest
import typer
from typer.testing import CliRunner

from bench.cli import load as load_commands
from bench.load.config import LoadConfig


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
        (["--rate", "5", "--duration", "0s"], "--duration must be positive"),
        (["--rate", "-2"], "--rate must be positive"),
        (["--rate", "5", "--duration", "1x"], "--duration: expected seconds like 90"),
        (["--rate", "5", "--warmup", "soon"], "--warmup: expected seconds like 90"),
        (["--rate", "5", "--mix", "deposit"], "--mix: expected OPERATION=WEIGHT"),
        (["--rate", "5", "--mix", "teleport=1"], "--mix: unknown operation(s) ['teleport']"),
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
    result = runner.invoke(app, [*base, "--scenario", "nope"])
    assert result.exit_code == 1
    assert "--scenario: unknown scenario 'nope'" in " ".join(result.output.split())
    result = runner.invoke(app, [*base, "--scenario", "orders", "--calibration", "-1"])
    assert result.exit_code == 1
    assert "--calibration must not be negative" in " ".join(result.output.split())


def test_scenario_completes_from_the_registry() -> None:
    assert load_commands.complete_scenario("re") == ["read-heavy", "read-your-writes"]
    assert "calibration" not in load_commands.complete_scenario("")


def flags_named(*modules: ModuleType) -> set[str]:
    """Every `--flag` the modules' source spells, but `--help`."""
    source = "".join(Path(str(m.__file__)).read_text() for m in modules)
    return set(re.findall(r"(--[a-z][a-z-]+)", source)) - {"--help"}


def help_of(app: typer.Typer, *commands: str) -> str:
    """The commands' `--help` texts, wide enough that no flag is wrapped."""
    return "".join(
        CliRunner().invoke(app, [command, "--help"], terminal_width=200).output
        for command in commands
    )


def test_every_option_an_error_names_exists(app: typer.Typer) -> None:
    """Error messages name flags; each named flag is one `cqrs-bench load` accepts."""
    from bench.load import config

    help_text = help_of(app, "load")
    named = flags_named(config, load_commands)
    assert named, "no flag names found"
    missing = sorted(n for n in named if n not in help_text and n != "--route")
    assert missing == []


def test_every_option_the_shared_options_name_exists() -> None:
    """`bench/load/options.py` serves `cqrs-bench load`/`saturate` and plain locust: each flag
    its messages name is one of theirs (locust's are the custom arguments it registers)."""
    from bench.cli import saturate
    from bench.load import options

    app = typer.Typer()
    load_commands.register(app)
    saturate.register(app)

    locust_flags = set(re.findall(r'add\("(--[a-z][a-z-]+)"', Path(options.__file__).read_text()))
    assert "--lead" in locust_flags
    help_text = help_of(app, "load", "saturate")
    missing = sorted(
        n for n in flags_named(options) if n not in help_text and n not in locust_flags
    )
    assert missing == []


@pytest.mark.parametrize(
    ("audit_passed", "valid", "status"),
    [(True, True, 0), (False, True, 2), (True, False, 3), (False, False, 2)],
)
def test_exit_status_is_2_for_a_failed_audit_even_when_the_run_is_also_invalid(
    audit_passed: bool, valid: bool, status: int
) -> None:
    assert load_commands.exit_status(audit_passed=audit_passed, valid=valid) == status


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("1m30s", 90.0), ("2m", 120.0), ("1h", 3600.0), ("0.5", 0.5)],
)
def test_durations_accept_seconds_and_minutes(text: str, seconds: float) -> None:
    from bench.load.options import parse_duration

    assert parse_duration(text) == seconds


def test_duration_defaults_to_60_seconds(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    def stop(settings: object) -> None:
        raise typer.Exit(0)

    original = LoadConfig.validate

    def record(self: LoadConfig) -> None:
        seen.append(self.duration_s)
        original(self)

    monkeypatch.setattr(LoadConfig, "validate", record)
    monkeypatch.setattr(load_commands, "ensure_stack", stop)
    result = CliRunner().invoke(app, ["load", "--scenario", "orders", "--rate", "5"])
    assert result.exit_code == 0, result.output
    assert seen == [60.0]
