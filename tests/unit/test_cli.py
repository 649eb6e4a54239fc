from __future__ import annotations

import pytest
import typer

from bench import cli


def test_every_registered_command_is_mapped_to_the_module_that_registers_it() -> None:
    for module, commands in cli.COMMAND_MODULES.items():
        app = typer.Typer()
        __import__(module, fromlist=["register"]).register(app)
        names = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
        names |= {g.name for g in app.registered_groups if g.name}
        assert names == set(commands), module


def test_an_invoked_command_loads_only_its_module_and_help_loads_all() -> None:
    assert cli._modules_for(["serve", "api"]) == ["bench.serve_commands"]
    assert cli._modules_for(["--help"]) == list(cli.COMMAND_MODULES)
    assert cli._modules_for([]) == list(cli.COMMAND_MODULES)


def test_a_single_registered_module_still_takes_its_command_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    monkeypatch.setattr(cli, "app", typer.Typer())
    cli.app.callback()(cli._root)
    result = CliRunner().invoke(cli.register(["load"]), ["load", "--help"])
    assert result.exit_code == 0, result.output
    assert "--scenario" in result.output
