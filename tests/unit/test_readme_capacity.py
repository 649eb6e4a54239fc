"""The README's second capacity table: the model from the saturation search's highest met step."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.report.reference_runs import REFERENCE, Reference, limit_step, references

SATURATION = next(r for r in references() if "saturation" in r.data)


def steps(ref: Reference) -> list[dict[str, object]]:
    return [r for r in ref.data["saturation"] if r["kind"] == "step"]


def with_rows(ref: Reference, rows: list[dict[str, object]]) -> Reference:
    return Reference(ref.name, {**ref.data, "saturation": rows})


def verdicts(ref: Reference) -> dict[float, bool]:
    """Each rate's verdict the search went on, read as a person would: the last run at it."""
    found: dict[float, bool] = {}
    for row in sorted(steps(ref), key=lambda r: r["step"]):  # type: ignore[arg-type, return-value]
        found[row["rate"]] = bool(row["met"])  # type: ignore[index]
    return found


def test_the_committed_search_names_its_highest_met_step_and_that_steps_own_run() -> None:
    found = limit_step(SATURATION)
    assert found is not None
    row, step = found
    assert row["rate"] == max(rate for rate, met in verdicts(SATURATION).items() if met)
    assert step["config"]["rate"] == row["rate"]
    assert step["resources"], "the step's run must carry the CPU the model is built from"


def test_a_met_recheck_is_read_from_its_stretched_directory(tmp_path: Path) -> None:
    row, _ = limit_step(SATURATION) or ({}, {})
    source = REFERENCE / SATURATION.name / "steps" / f"rate-{row['rate']:g}" / "results.json"
    stretched = tmp_path / SATURATION.name / "steps" / f"rate-{row['rate']:g}-x3"
    stretched.mkdir(parents=True)
    shutil.copy(source, stretched / "results.json")
    recheck = {**row, "step": 99, "recheck": True}
    ref = with_rows(SATURATION, [*steps(SATURATION), recheck])
    found = limit_step(ref, tmp_path)
    assert found is not None and found[0]["step"] == 99


def test_a_step_its_recheck_overturned_is_not_the_limit(tmp_path: Path) -> None:
    # As in the reference at 37a182c: 300 req/s met in 20 s, missed in its 60-s recheck; 275 met.
    rows = [
        {"kind": "step", "step": 1, "rate": 275.0, "met": True},
        {"kind": "step", "step": 2, "rate": 300.0, "met": True},
        {"kind": "step", "step": 3, "rate": 300.0, "met": False, "recheck": True},
    ]
    committed = next((REFERENCE / SATURATION.name / "steps").glob("*/results.json"))
    for rate in ("275", "300"):  # each step's run, so that only the verdict decides
        step = tmp_path / SATURATION.name / "steps" / f"rate-{rate}"
        step.mkdir(parents=True)
        shutil.copy(committed, step / "results.json")
    found = limit_step(with_rows(SATURATION, rows), tmp_path)
    assert found is not None and found[0]["rate"] == 275.0


def test_no_met_step_or_no_committed_step_run_gives_no_table(tmp_path: Path) -> None:
    missed = [{**r, "met": False} for r in steps(SATURATION)]
    assert limit_step(with_rows(SATURATION, missed)) is None
    assert limit_step(SATURATION, tmp_path) is None
