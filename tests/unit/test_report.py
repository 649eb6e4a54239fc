"""The results contract, the rendered report and the run comparison (no services)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.report import compare, html, markdown
from bench.report.analysis import break_even
from bench.report.constants import SECTIONS
from bench.report.files import write_report
from bench.report.results import Results, ResultsInvalid, load, validate
from bench.report.targets import TargetSpec, evaluate

ENV: dict[str, Any] = {
    "cpu": "Test CPU",
    "cores": 2,
    "memory": 8 * 2**30,
    "os": "Linux",
    "python": "3.11.9",
    "git_revision": "abc1234",
    "git_dirty": False,
    "services": {"postgres": "15.8", "elasticsearch": None},
}


def replay_row(
    events: int, every: int | None, seconds: float, ceiling: float, tail: int | None = None
) -> dict[str, Any]:
    rate = events / seconds
    return {
        "events": events,
        "snapshot_every": every,
        "tail_events": events if tail is None else tail,
        "seconds": seconds,
        "seconds_low": seconds * 0.99,
        "seconds_high": seconds * 1.01,
        "events_per_s": rate,
        "ceiling": ceiling,
        "ratio": rate / ceiling,
        "low": rate * 0.99,
        "high": rate * 1.01,
    }


SPECS = [
    TargetSpec(
        name="append",
        goal="append at 16 connections at >= 80% of the raw insert",
        section="append",
        figure="ratio",
        op=">=",
        threshold=0.8,
        where={"connections": 16, "batch": 1, "snapshots": False},
    ),
    TargetSpec(
        name="eventsourcing append",
        goal="ours >= 3x theirs",
        section="peers",
        figure="ratio",
        op=">=",
        threshold=3.0,
        where={"peer": "eventsourcing", "workload": "append"},
        max_halfwidth=0.25,
    ),
    TargetSpec(
        name="projection",
        goal="projection >= 70% of raw bulk",
        section="projection",
        figure="ratio",
        op=">=",
        threshold=0.7,
    ),
]


def sample_run(scale: float = 1.0) -> Results:
    run = Results.new("tiny", {"seed": 1}, run_id="run-a")
    run.environment = ENV  # type: ignore[assignment]
    run.add(
        "ceilings",
        {
            "name": "postgres_insert",
            "unit": "events/s",
            "value": 20000.0,
            "low": 14000.0,
            "high": 26000.0,
            "work": "raw INSERT",
        },
    )
    for events, off, snap in ((199, 1e-4, 2e-4), (1099, 4e-3, 3e-4), (100_099, 0.4, 3.5e-4)):
        run.add("replay", replay_row(events, None, off * scale, events / (off * 0.6)))
        run.add("replay", replay_row(events, 100, snap * scale, events / (snap * 0.6), tail=99))
    run.add("replay", replay_row(101, 100, 1.5e-4, 101 / 1e-4, tail=1))
    run.add(
        "append",
        {
            "connections": 16,
            "batch": 1,
            "snapshots": False,
            "events_per_s": 9000.0 / scale,
            "p99_seconds": 0.01,
            "ceiling": 12000.0,
            "low": 8900.0 / scale,
            "high": 9100.0 / scale,
            "ratio": 0.75 / scale,
            "ratio_low": 0.72 / scale,
            "ratio_high": 0.78 / scale,
        },
    )
    run.add(
        "peers",
        {
            "peer": "eventsourcing",
            "workload": "append",
            "unit": "commands/s",
            "ours": 9000.0,
            "theirs": 2000.0,
            "ratio": 4.5,
            "low": 4.0,
            "high": 5.2,
            "concurrency": 16,
            "ours_concurrency": 16,
            "theirs_concurrency": 16,
            "ours_low": 8500.0,
            "ours_high": 9400.0,
            "theirs_low": 1800.0,
            "theirs_high": 2200.0,
        },
    )
    rows, _ = evaluate(SPECS, run.sections)
    for row in rows:
        run.add("targets", row)
    run.finish()
    return run


def test_a_row_that_breaks_the_contract_is_refused_naming_its_path() -> None:
    run = Results.new("tiny", {}, run_id="r")
    bad = replay_row(10, None, 1e-3, 1e4) | {"events_per_s": -1.0}
    with pytest.raises(ResultsInvalid, match=r"\$\.replay\[0\]\.events_per_s"):
        run.add("replay", bad)


def test_a_document_missing_a_field_fails_validation_naming_the_path() -> None:
    data = sample_run().to_dict()
    del data["append"][0]["p99_seconds"]
    with pytest.raises(ResultsInvalid, match=r"\$\.append\[0\]: 'p99_seconds' is a required"):
        validate(data)


def test_an_unknown_section_is_refused() -> None:
    with pytest.raises(ResultsInvalid, match="unknown section"):
        Results.new("tiny", {}, run_id="r").add("bogus", {})  # type: ignore[arg-type]


def test_written_results_load_back_equal(tmp_path: Path) -> None:
    run = sample_run()
    path = run.write(tmp_path)
    assert json.loads(path.read_text())["schema"] == "cqrs-bench/results/1"
    assert load(tmp_path).to_dict() == run.to_dict()


def test_targets_are_judged_from_the_interval_and_unmeasured_ones_become_notes() -> None:
    run = sample_run()
    targets = {t["name"]: t for t in run.rows("targets")}
    assert targets["append"]["verdict"] == "MISSED"
    assert (targets["append"]["low"], targets["append"]["high"]) == (0.72, 0.78)
    assert targets["eventsourcing append (concurrency=16)"]["verdict"] == "MET"
    assert "projection" not in targets
    _, notes = evaluate(SPECS, run.sections)
    assert notes == ["target 'projection' not measured: no projection row with an interval"]


def test_break_even_interpolates_where_snapshots_with_a_tail_start_to_pay() -> None:
    (k100,) = break_even(sample_run().to_dict()["replay"])
    assert (k100.snapshot_every, k100.tail_events) == (100, 99)
    assert k100.events is not None and 199 < k100.events < 1099
    assert k100.faster_from == 1099


def test_reports_state_targets_in_words_and_hold_every_section(tmp_path: Path) -> None:
    data = sample_run().to_dict()
    md = markdown.render(data, ["replay_cost.png"])
    assert "| MISSED | append | 0.75 (0.72 to 0.78) | >= 0.8 |" in md
    assert "## Replay cost" in md and "## Peers" in md and "4.50x" in md
    assert "![replay_cost.png](replay_cost.png)" in md
    assert "<td>MISSED</td><td>append</td>" in html.render(data)
    sample_run().write(tmp_path)
    written = {p.name for p in write_report(tmp_path)}
    assert {"report.md", "report.html", "replay_cost.png"} <= written


def test_compare_flags_differences_whose_intervals_do_not_overlap() -> None:
    diffs = compare.compare(sample_run().to_dict(), sample_run(scale=1.5).to_dict())
    append = next(d for d in diffs if d.section == "append" and d.figure == "events_per_s")
    assert append.beyond_noise and append.better is False
    ceiling = next(d for d in diffs if d.section == "ceilings")
    assert not ceiling.beyond_noise
    text = compare.render(diffs, "run-a", "run-b")
    assert "worse" in text and "within noise" in text


def test_compare_knows_every_section_so_no_run_can_break_it() -> None:
    assert set(SECTIONS) <= set(compare.FIGURES)
    run = sample_run().to_dict()
    run["faults"] = [
        {"service": "api", "action": "kill", "at": 3.0, "recovery_seconds": 2.0, "errors": {}}
    ]
    other = {**run, "faults": [{**run["faults"][0], "recovery_seconds": 4.0}]}
    (worse,) = [d for d in compare.compare(run, other) if d.section == "faults"]
    assert worse.beyond_noise and worse.better is False
