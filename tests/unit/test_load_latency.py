"""Latency recording: raw versus corrected for coordinated omission, and schedule verdicts."""

from __future__ import annotations

import pytest

from bench.load.health import judge
from bench.load.latency import LatencyHistogram, summarize
from bench.load.samples import Sample
from bench.report.constants import LagStage


def sample(intended: float, sent: float, finished: float, **kw: object) -> Sample:
    fields: dict[str, object] = {"request": "deposit", "outcome": "ok", "status": 200, **kw}
    return Sample(intended=intended, sent=sent, finished=finished, **fields)  # type: ignore[arg-type]


def test_histogram_reports_percentiles_in_seconds() -> None:
    h = LatencyHistogram()
    for ms in range(1, 1001):
        h.record(ms / 1000)
    s = h.summary()
    assert s["p50"] == pytest.approx(0.5, rel=0.01)
    assert s["p99"] == pytest.approx(0.99, rel=0.01)
    assert s["p999"] == pytest.approx(0.999, rel=0.01)
    assert s["max"] == pytest.approx(1.0, rel=0.001)


def test_a_stalled_server_shows_in_corrected_latency_only() -> None:
    # 10/s intended; one request stalls 2 s and the only slot makes the next 19 send late.
    samples = [sample(0.0, 0.0, 2.0)]
    for i in range(1, 20):
        t = i * 0.1
        sent = 2.0 + (i - 1) * 0.01
        samples.append(sample(t, sent, sent + 0.01))
    s = summarize(samples)
    assert s.total.raw.summary()["p90"] == pytest.approx(0.01, rel=0.01)
    assert s.total.corrected.summary()["p90"] > 1.0
    verdict = judge(s, duration_s=2.0, target_rps=10.0)
    assert not verdict.kept
    assert any("send lag" in p for p in verdict.problems)
    assert any("below 95%" in p for p in verdict.problems)


def test_a_kept_schedule_has_no_problems() -> None:
    samples = [sample(i / 10, i / 10 + 0.001, i / 10 + 0.02) for i in range(100)]
    verdict = judge(summarize(samples), duration_s=10.0, target_rps=10.0)
    assert verdict.kept
    assert verdict.achieved_rps == pytest.approx(10.0)


def test_warmup_and_visibility_samples_stay_out_of_request_latency() -> None:
    samples = [
        sample(0, 0, 5.0, phase="warmup"),
        sample(1, 1, 1.1),
        sample(1.1, 1.1, 1.3, request=LagStage.VISIBILITY),
    ]
    s = summarize(samples)
    assert s.total.requests == 1
    assert s.visibility.count == 1
    assert s.visibility.summary()["max"] == pytest.approx(0.2, rel=0.01)
