"""`cqrs-bench audit`: its help and its refusals of bad input (no services needed)."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from bench.cli.audit import register


def invoke(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    result = CliRunner().invoke(app, ["audit", *args])
    return result.exit_code, result.output


def test_the_help_names_the_footprints_and_the_exit_statuses() -> None:
    code, output = invoke("--help")
    assert code == 0
    for words in ("RUN_DIR", "--since", "POSITION", "reference model", "2 a check failed"):
        assert words in output


def test_since_and_a_run_directory_together_are_refused(tmp_path: Path) -> None:
    code, output = invoke("--since", "5", str(tmp_path))
    assert code == 1
    assert "give --since or RUN_DIR, not both" in output


def test_a_negative_position_is_refused_naming_the_flag() -> None:
    code, output = invoke("--since", "-1")
    assert code == 1
    assert "--since must be a position >= 0" in output


def test_a_directory_without_samples_or_seed_is_refused_naming_it(tmp_path: Path) -> None:
    code, output = invoke(str(tmp_path))
    assert code == 1
    assert "RUN_DIR" in output and "seed.json" in output
