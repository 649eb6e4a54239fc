"""Load pictures without services: per-second series from raw samples, their plots, the panel
query rewriting, and the report's per-request table and dashboard panels."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bench.lag.probe import LagSample
from bench.lag.stamps import EventStamps
from bench.load import timeseries
from bench.load.latency import summarize
from bench.load.pacing import Unsent
from bench.load.rows import by_request
from bench.load.samples import Sample
from bench.report import files, html, markdown, panels
from bench.report.plots.load_timeseries import fault_spans, load_timeseries
from bench.report.series import write_timeseries
from tests.unit.test_load_report import run

T0 = 1_700_000_000.0


def sample(i: int, rate: float, *, warmup_s: float = 2.0, late: float = 0.0) -> Sample:
    intended = T0 + i / rate
    return Sample(
        request="deposit" if i % 2 else "balance",
        intended=intended,
        sent=intended + late,
        finished=intended + late + 0.010 + 0.001 * (i % 10),
        outcome="error" if i == 25 else "ok",
        status=500 if i == 25 else 200,
        phase="warmup" if i / rate < warmup_s else "measured",
    )


def stamps(n: int) -> list[EventStamps]:
    return [
        EventStamps(
            projection="account_balance",
            position=i,
            origin=T0 + i * 0.5,
            observed=False,
            consumed_at=T0 + i * 0.5 + 0.2,
            indexed_at=T0 + i * 0.5 + 0.25,
            searchable_at=T0 + i * 0.5 + 0.3,
            acked_at=T0 + i * 0.5 + 0.01,
        )
        for i in range(n)
    ]


def series() -> dict[str, Any]:
    samples = [sample(i, 10.0) for i in range(100)]
    unsent = [Unsent(worker=0, stopped_at=T0 + 11, scheduled=80, intended=[T0 + 10.05, T0 + 10.15])]
    probe = [
        LagSample(
            t=T0 + k, consumer_lag={"account_balance": k}, position_lag={"account_balance": 2 * k}
        )
        for k in range(5)
    ]
    return timeseries.build(samples, unsent, stamps(10), probe, open_model=True)


def test_per_second_series_come_from_the_same_samples_as_the_figures() -> None:
    s = series()
    assert s["t0"] == T0
    assert s["seconds"] == list(range(11))
    assert s["achieved_rps"][:10] == [10] * 10 and s["achieved_rps"][10] == 0
    assert s["target_rps"][10] == 2  # the two never-sent tickets were due in second 10
    assert sum(s["achieved_rps"]) == 100
    assert s["failures"][2] == 1 and sum(s["failures"]) == 1  # request 25, in second 2
    assert s["warmup_end"] == pytest.approx(2.0)
    assert s["latency"]["p50"][0] == pytest.approx(0.014, abs=1e-6)
    assert s["latency"]["p99"][0] == pytest.approx(0.019, abs=1e-6)
    assert s["latency"]["corrected_p99"][0] == s["latency"]["p99"][0]
    assert s["latency"]["p50"][10] is None
    lag = s["lag"]["account_balance"]
    assert lag["end_to_end"]["p99"][0] == pytest.approx(0.3)
    assert lag["relay"]["p50"][4] == pytest.approx(0.01)
    assert lag["end_to_end"]["p50"][6] is None  # no event committed in second 6
    assert s["probe"]["t"] == [0, 1, 2, 3, 4]
    assert s["probe"]["position_lag"]["account_balance"] == [0, 2, 4, 6, 8]


def test_late_sends_show_in_corrected_latency_only() -> None:
    s = timeseries.build(
        [sample(i, 10.0, late=0.5) for i in range(20)], [], [], [], open_model=True
    )
    assert s["latency"]["p50"][0] < 0.02
    assert s["latency"]["corrected_p50"][0] > 0.5


def test_the_report_draws_four_time_series_and_marks_faults(tmp_path: Path) -> None:
    write_timeseries(tmp_path, series())
    data = run(sent=200)
    data["faults"] = [{"service": "kafka", "action": "kill", "at": T0 + 3, "recovery_seconds": 2}]
    made = load_timeseries(data, tmp_path)
    assert [p.name for p in made] == [
        "load_rate.png",
        "load_latency.png",
        "load_lag_stages.png",
        "load_consumer_position_lag.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in made)
    assert fault_spans(data["faults"], T0) == [(3.0, 5.0, "kafka kill")]
    assert fault_spans([{"at": "2023-11-14T22:13:25+00:00"}], T0)[0][0] == pytest.approx(5.0)
    exact = {"at": 3.0, "at_epoch": T0 + 7.5, "recovery_seconds": 1.0}
    assert fault_spans([exact], T0)[0][:2] == (7.5, 8.5)
    assert load_timeseries({"replay": [{}]}, tmp_path) == []


def test_load_reports_show_only_measured_sections_and_the_per_request_table() -> None:
    data = run(sent=200)
    summary = summarize([sample(i, 10.0) for i in range(100)], [])
    data["load"][0]["by_request"] = by_request(summary, open_model=True)
    text = markdown.render(data)
    assert "NOT MEASURED" not in text and "## Targets" not in text
    table = text[text.index("## Requests by name") :]
    assert "| balance | 40 | 0 |" in table  # 20 warm-up requests are not counted
    assert "| deposit | 40 | 1 |" in table  # request 25 (odd: a deposit) failed
    assert "p99 corrected" in table.splitlines()[2]
    assert "<h2>Requests by name</h2>" in html.render(data)


def test_panel_queries_take_the_run_s_values_and_grafana_s_intervals() -> None:
    values = {"projection": ".*", "scenario": "orders", "run_id": "r1"}
    expr = (
        'sum(rate(cqrs_load_requests_total{scenario=~"$scenario"}[$__rate_interval]))'
        ' + max(x{projection=~"${projection}", run_id=~"$run_id"}) + y[$__interval]'
    )
    assert panels.substitute(expr, values, 2.0) == (
        'sum(rate(cqrs_load_requests_total{scenario=~"orders"}[4s]))'
        ' + max(x{projection=~".*", run_id=~"r1"}) + y[2s]'
    )
    assert panels.rate_interval_s(10.0) == 11.0
    assert panels.legend("p99 {{route}}", {"route": "/orders"}) == "p99 /orders"
    assert panels.slug("Lag heatmap · $projection · $stage") == "lag-heatmap-projection-stage"


def test_every_panel_of_the_committed_dashboards_is_read() -> None:
    for name in panels.RUN_DASHBOARDS:
        model, found = panels.read_dashboard(panels.DASHBOARD_DIR / f"{name}.json")
        assert found and all(p.targets for p in found), name
        assert len({panels.slug(p.title) for p in found}) == len(found), "PNG names collide"
        values = panels.variables(model, {"scenario": "orders"})
        for panel in found:
            for target in panel.targets:
                left = panels.substitute(target.expr, values, 5.0)
                assert not re.search(r"\$\{?[A-Za-z_]", left), target.expr  # ${1}: a regex group


def test_the_report_embeds_panels_under_dashboard_titles_and_names_empty_ones(
    tmp_path: Path,
) -> None:
    folder = tmp_path / panels.PANELS_DIR
    folder.mkdir()
    (folder / "cqrs-load__a.png").write_bytes(b"png")
    manifest = [
        {"dashboard": "Load", "title": "A", "file": "panels/cqrs-load__a.png", "series": 2},
        {"dashboard": "Load", "title": "B", "file": None, "series": 0, "note": "no data"},
    ]
    (folder / panels.MANIFEST).write_text(json.dumps(manifest))
    data = run(sent=200)
    (tmp_path / "results.json").write_text(json.dumps(data))
    written = files.write_report(tmp_path / "results.json")
    page = (tmp_path / "report.html").read_text()
    text = (tmp_path / "report.md").read_text()
    assert "<h3>Load</h3>" in page and '<img src="panels/cqrs-load__a.png"' in page
    assert '<p class="nodata">no data</p>' in page
    assert "#### A\n\n![A](panels/cqrs-load__a.png)" in text and "#### B\n\n*no data*" in text
    assert folder / "cqrs-load__a.png" in written
