"""The README's figures are generated from the committed reference runs, and CI checks them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.report.readme import README, ReadmeError, render
from bench.report.reference_runs import REFERENCE, references

CLI = str(Path(sys.executable).parent / "cqrs-bench")


def test_the_committed_readme_matches_the_reference_runs() -> None:
    result = subprocess.run([CLI, "readme", "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_hand_edited_figure_fails_the_check_and_is_rewritten(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    text = README.read_text()
    start = text.index("<!-- figures:targets -->")
    end = text.index("<!-- /figures:targets -->")
    readme.write_text(text[: start + 25] + "| a figure | typed by hand |\n" + text[end:])
    check = [CLI, "readme", "--check", "--readme", str(readme), "--reference", str(REFERENCE)]
    result = subprocess.run(check, capture_output=True, text=True)
    assert result.returncode == 1
    assert "-| a figure | typed by hand |" in result.stdout
    subprocess.run(check[:2] + check[3:], check=True, capture_output=True)
    assert readme.read_text() == text


def test_every_reference_run_names_its_command_environment_and_machine_speed() -> None:
    refs = references()
    assert refs, "no committed reference run"
    for ref in refs:
        assert ref.command.startswith("cqrs-bench ")
        assert ref.data["environment"]["git_revision"]
        if "saturation" in ref.data:  # probed around each step
            steps = [s for s in ref.data["saturation"] if s["kind"] == "step"]
            assert steps and all(s["idle_ms_before"] > 0 for s in steps), ref.name
        else:
            assert ref.data["environment"]["cpu_probe"]["idle_before_ms"] > 0, ref.name
    generated = render(README.read_text(), refs)
    for ref in refs:
        line = next(x for x in generated.splitlines() if x.startswith(f"- `{ref.name}`"))
        assert f"`{ref.command}`" in line
        assert "CPU probe" in line, "a reference run must show the machine's speed"


def test_an_unknown_block_or_a_missing_one_is_an_error(tmp_path: Path) -> None:
    refs = references()
    with pytest.raises(ReadmeError, match="figures:bogus is unknown"):
        render(README.read_text() + "<!-- figures:bogus -->\n<!-- /figures:bogus -->\n", refs)
    with pytest.raises(ReadmeError, match="no <!-- figures:"):
        render("# nothing generated here\n", refs)
    empty = tmp_path / "reference"
    empty.mkdir()
    with pytest.raises(ReadmeError, match="no reference run"):
        render(README.read_text(), references(empty))
