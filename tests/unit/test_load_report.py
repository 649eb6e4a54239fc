"""A load run's report: INVALID on the first line when the generator fell behind, and the
generator's calibration beside the latency table (results.json → report, no services)."""

from __future__ import annotations

from typing import Any

from bench.load.calibrate import Calibration
from bench.load.health import health_fields, judge
from bench.load.latency import summarize
from bench.load.pacing import Unsent
from bench.load.samples import Sample
from bench.report import html, markdown
from bench.report.results import Results, validate

ENV: dict[str, Any] = {
    "cpu": "Test CPU",
    "cores": 2,
    "memory": 8 * 2**30,
    "os": "Linux",
    "python": "3.11.9",
    "git_revision": "abc1234",
    "git_dirty": False,
    "services": {"postgres": "15.8"},
}


def samples(n: int, rate: float, service_s: float) -> list[Sample]:
    return [
        Sample(
            request="health",
            intended=i / rate,
            sent=i / rate + 0.001,
            finished=i / rate + service_s,
            outcome="ok",
            status=200,
        )
        for i in range(n)
    ]


def calibration() -> Calibration:
    s = summarize(
        samples(100, 20.0, 0.004), [Unsent(worker=0, stopped_at=5.5, scheduled=100, intended=[])]
    )
    return Calibration(20.0, 5.0, 0, s, judge(s, duration_s=5.0, target_rps=20.0))


def run(sent: int, with_calibration: bool = True) -> dict[str, Any]:
    """A 20 req/s, 10 s open-model run of which only the first `sent` requests went out."""
    missed = [i / 20 for i in range(sent, 200)]
    summary = summarize(
        samples(sent, 20.0, 0.05),
        [Unsent(worker=0, stopped_at=10.5, scheduled=200, intended=missed)],
    )
    verdict = judge(summary, duration_s=10.0, target_rps=20.0)
    row = {
        "scenario": "banking",
        "model": "open",
        "target_rps": 20.0,
        "achieved_rps": verdict.achieved_rps,
        "duration_s": 10.0,
        "requests": summary.total.requests,
        "failures": 0,
        "conflicts": 0,
        "latency_seconds": summary.total.raw.summary(),
        "corrected": summary.total.corrected.summary(),
        **health_fields(summary, verdict),
        "calibration": calibration().row() if with_calibration else None,
    }
    results = Results.new("load/banking", {}, run_id="run-x")
    results.environment = ENV  # type: ignore[assignment]
    results.add("load", row)
    results.finish()
    data = results.to_dict()
    validate(data)
    return data


def test_an_invalid_run_s_report_starts_with_invalid_and_why() -> None:
    data = run(sent=100)
    (row,) = data["load"]
    assert row["valid"] is False
    assert row["unsent"] == 100
    first = markdown.render(data).splitlines()[0]
    assert first.startswith("INVALID: the generator fell behind: achieved 50 % of the target rate")
    assert "50 % unsent" in first


def test_an_invalid_run_s_html_says_invalid_in_its_title_and_above_the_heading() -> None:
    page = html.render(run(sent=100))
    assert "<title>INVALID cqrs-bench run-x</title>" in page
    banner = page.index('<p class="invalid">INVALID: the generator fell behind')
    assert banner < page.index("<h1>")


def test_a_valid_run_s_report_starts_with_its_title() -> None:
    data = run(sent=200)
    assert data["load"][0]["valid"] is True
    assert markdown.render(data).splitlines()[0] == "# cqrs-bench run run-x"
    assert "INVALID" not in html.render(data)


def test_the_calibration_is_shown_right_after_the_latency_table() -> None:
    text = markdown.render(run(sent=200))
    load = text.index("## Load\n")
    health = text.index("## Load generator health and calibration")
    assert load < health
    assert "| calibration: GET /health/live, 5 s | 20 |" in text
    assert "| banking (this run) | 20 | 100% | 0 (0.0%) |" in text


def test_a_run_without_calibration_says_so() -> None:
    text = markdown.render(run(sent=200, with_calibration=False))
    assert "No calibration was run (--calibration 0)." in text
    assert "calibration: GET" not in text
