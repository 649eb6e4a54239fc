"""The resources section: process-tree CPU sums and the rows built from snapshots (pure code)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.load.resources import (
    component,
    resource_rows,
    stack_roots,
    take_snapshot,
    tree_cpu,
)
from bench.report.results import Results
from bench.report.series import Snapshot, read_snapshots


def test_a_tree_sums_every_descendant_once_and_nothing_else() -> None:
    table = {
        1: (0, 100.0),  # init: outside every tree
        10: (1, 2.0),  # postmaster (its cutime holds reaped backends)
        11: (10, 0.5),
        12: (10, 0.25),
        13: (12, 0.125),  # a grandchild
        20: (1, 3.0),  # api
    }
    cpu = tree_cpu({"postgres": 10, "api": 20, "gone": 99}, table)
    assert cpu == {"postgres": 2.875, "api": 3.0}


def test_projector_instances_are_one_component() -> None:
    assert component("projector-2") == "projector"
    assert component("projector") == "projector"
    assert component("locust") == "locust"


def _snapshots() -> list[Snapshot]:
    # api busy 0.5 cores then 1.5 cores; postgres a steady 0.25
    return [
        Snapshot(100.0, {"api": 10.0, "postgres": 5.0}),
        Snapshot(102.0, {"api": 11.0, "postgres": 5.5}),
        Snapshot(104.0, {"api": 14.0, "postgres": 6.0}),
    ]


def test_rows_divide_the_window_cpu_by_its_requests_and_events() -> None:
    rows = resource_rows(_snapshots(), requests=200, events=400)
    assert [r["process"] for r in rows] == ["api", "postgres"]  # busiest first
    api, postgres = rows
    assert api["cpu_seconds"] == 4.0 and api["window_s"] == 4.0
    assert api["cores"] == pytest.approx(1.0)
    assert api["cpu_ms_per_request"] == pytest.approx(20.0)  # 4 s / 200 requests
    assert api["cpu_ms_per_event"] == pytest.approx(10.0)
    assert api["low"] <= api["cores"] <= api["high"]
    assert api["low"] < api["high"]  # the two intervals differ: 0.5 and 1.5 cores
    assert api["cpu_ms_per_request_low"] == pytest.approx(api["low"] * 4000 / 200)
    assert postgres["cores"] == pytest.approx(0.25)
    assert postgres["low"] == pytest.approx(0.25) and postgres["high"] == pytest.approx(0.25)


def test_a_restarted_service_counts_its_new_tree_from_its_start() -> None:
    snaps = [
        Snapshot(100.0, {"relay": 50.0}, {"relay": 10.0}),
        Snapshot(101.0, {"relay": 50.5}, {"relay": 10.0}),
        Snapshot(102.0, {}, {}),  # between the old process's end and the new one's start
        Snapshot(103.0, {"relay": 0.75}, {"relay": 102.5}),  # restarted inside the interval
        Snapshot(104.0, {"relay": 1.0}, {"relay": 102.5}),
    ]
    (relay,) = resource_rows(snaps, requests=10, events=10)
    assert relay["cpu_seconds"] == pytest.approx(0.5 + 0.75 + 0.25)
    assert relay["restarts"] == 1
    assert relay["cores"] == pytest.approx(1.5 / 4)
    # a root that changed but started before the interval: its CPU is unknown, not counted
    late = [Snapshot(100.0, {"x": 5.0}, {"x": 1.0}), Snapshot(101.0, {"x": 9.0}, {"x": 50.0})]
    assert resource_rows(late, 1, 1) == []


def test_rows_pass_the_results_schema() -> None:
    results = Results.new("load/orders", {})
    for row in resource_rows(_snapshots(), requests=0, events=0):
        results.add("resources", row)
    assert results.rows("resources")[0]["cpu_ms_per_request"] is None
    with pytest.raises(Exception, match="resources"):
        results.add("resources", {"process": "api"})


def test_no_window_no_rows() -> None:
    assert resource_rows(_snapshots()[:1], 10, 10) == []
    same = Snapshot(100.0, {"api": 1.0})
    assert resource_rows([same, same], 10, 10) == []


def test_a_real_snapshot_sees_this_process_and_the_series_round_trips(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    (stack / "me").mkdir(parents=True)
    (stack / "me" / "pid").write_text(str(os.getpid()))
    (stack / "dead").mkdir()
    (stack / "dead" / "pid").write_text("999999999")
    roots = stack_roots(stack)
    assert roots == {"me": os.getpid()}
    sum(i * i for i in range(200_000))  # burn a little CPU
    snap = take_snapshot(roots)
    assert snap.cpu["me"] > 0 and snap.cpu["harness"] > 0 and "locust" in snap.cpu
    path = tmp_path / "resources.jsonl"
    assert snap.started["me"] <= snap.at and "harness" not in snap.started
    path.write_text(f'{{"at": {snap.at}, "cpu": {{"me": {snap.cpu["me"]}}}}}\n')
    assert read_snapshots(path)[0].cpu == {"me": snap.cpu["me"]}
    assert read_snapshots(tmp_path / "missing.jsonl") == []


def test_the_idle_baseline_gives_the_marginal_cost_per_request() -> None:
    rows = resource_rows(_snapshots(), requests=200, events=400, idle={"api": 0.25})
    api = next(r for r in rows if r["process"] == "api")
    assert api["idle_cores"] == 0.25
    assert api["marginal_ms_per_request"] == pytest.approx(0.75 * 4000 / 200)  # 15 ms
    assert api["marginal_ms_per_event"] == pytest.approx(0.75 * 4000 / 400)
    assert api["marginal_ms_per_request_low"] <= 15 <= api["marginal_ms_per_request_high"]
    postgres = next(r for r in rows if r["process"] == "postgres")
    assert "idle_cores" not in postgres  # no baseline for it: no marginal figure invented
    Results.new("load/orders", {}).add("resources", api)


def test_the_cpu_picture_is_drawn_from_the_series_and_skipped_without_it(tmp_path: Path) -> None:
    from bench.report.plots.resources import cpu_timeseries

    rows = resource_rows(_snapshots(), requests=200, events=400)
    assert cpu_timeseries({"resources": rows}, tmp_path) is None  # no resources.jsonl
    lines = [
        f'{{"at": {s.at}, "cpu": {{"api": {s.cpu["api"]}, "postgres": {s.cpu["postgres"]}}}}}'
        for s in _snapshots()
    ]
    (tmp_path / "resources.jsonl").write_text("\n".join(lines) + "\n")
    path = cpu_timeseries({"resources": rows}, tmp_path)
    assert path is not None and path.stat().st_size > 1000
    assert cpu_timeseries({"resources": []}, tmp_path) is None
