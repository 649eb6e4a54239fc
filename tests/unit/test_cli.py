from __future__ import annotations

import pytest
import typer

from bench import cli


def test_every_registered_command_is_mapped_to_the_module_that_registers_it() -> None:
    for group in cli.GROUPS:
        app = typer.Typer()
        group.register(app)
        names = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
        names |= {g.name for g in app.registered_groups if g.name}
        assert names == set(group.commands), group.name


def test_an_invoked_command_loads_only_its_module_and_help_loads_all() -> None:
    assert [g.name for g in cli._groups_for(["serve", "api"])] == ["serve"]
    assert cli._groups_for(["--help"]) == list(cli.GROUPS)
    assert cli._groups_for([]) == list(cli.GROUPS)


def test_a_single_registered_module_still_takes_its_command_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    monkeypatch.setattr(cli, "app", typer.Typer())
    cli.app.callback()(cli._root)
    result = CliRunner().invoke(cli.register(["load"]), ["load", "--help"])
    assert result.exit_code == 0, result.output
    assert "--scenario" in result.output


@pytest.mark.parametrize("recheck", ["1", "-1"])
def test_saturate_refuses_a_recheck_of_one_or_below_zero_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, recheck: str
) -> None:
    from typer.testing import CliRunner

    from bench.cli import saturate

    def no_stack(*_: object) -> None:
        raise AssertionError("the stack was asked for")

    monkeypatch.setattr(saturate, "ensure_stack", no_stack)
    monkeypatch.setattr(cli, "app", typer.Typer())
    cli.app.callback()(cli._root)
    app = cli.register(["saturate"])
    result = CliRunner().invoke(app, ["saturate", "--scenario", "orders", "--recheck", recheck])
    assert result.exit_code == 2, result.output
    assert "--recheck" in result.output
    helped = CliRunner().invoke(app, ["saturate", "--help"])
    assert "--recheck" in helped.output and "toss-up" in helped.output
