"""Generator health: never-sent requests are censored into the corrected latency, and the three
validity rules (achieved rate, unsent share, send lag) decide whether a run is INVALID."""

from __future__ import annotations

import pytest

from bench.load.health import health_fields, judge
from bench.load.latency import summarize
from bench.load.pacing import Unsent
from bench.load.samples import Sample


def sample(intended: float, sent: float, finished: float) -> Sample:
    return Sample(
        request="deposit", intended=intended, sent=sent, finished=finished, outcome="ok", status=200
    )


def on_time(n: int, rate: float, service_s: float = 0.01) -> list[Sample]:
    return [sample(i / rate, i / rate + 0.001, i / rate + service_s) for i in range(n)]


def unsent(intended: list[float], stopped_at: float, scheduled: int) -> Unsent:
    return Unsent(worker=0, stopped_at=stopped_at, scheduled=scheduled, intended=intended)


def test_never_sent_requests_are_censored_at_the_end_in_corrected_latency_only() -> None:
    # 10/s for 10 s: the first 50 go out on time, the last 50 never do; the run ends at 10 s.
    samples = on_time(50, 10.0)
    missed = [i / 10 for i in range(50, 100)]
    s = summarize(samples, [unsent(missed, stopped_at=10.0, scheduled=100)])
    assert s.unsent == 50
    assert s.scheduled == 100
    assert s.total.requests == 50
    assert s.total.raw.count == 50
    assert s.total.corrected.count == 100
    # Censored values are 10.0 - 5.0 … 10.0 - 9.9: the corrected tail is the wait of the first
    # never-sent request, not the 10 ms the sent ones took.
    assert s.total.corrected.summary()["max"] == pytest.approx(5.0, rel=0.01)
    assert s.total.corrected.percentile(0.99) == pytest.approx(4.9, rel=0.01)
    assert s.total.raw.summary()["max"] == pytest.approx(0.009, rel=0.01)
    assert s.send_lag.count == 100
    assert s.send_lag.percentile(0.99) == pytest.approx(4.9, rel=0.01)


def test_without_censoring_the_same_run_would_look_healthy() -> None:
    samples = on_time(50, 10.0)
    assert summarize(samples).total.corrected.percentile(0.99) < 0.02


def test_a_ticket_due_after_the_stop_is_censored_at_zero_not_negative() -> None:
    s = summarize([], [unsent([10.5], stopped_at=10.0, scheduled=1)])
    assert s.total.corrected.summary()["max"] == pytest.approx(1e-6)


def test_a_kept_schedule_is_valid_with_no_reason() -> None:
    s = summarize(on_time(100, 10.0), [unsent([], stopped_at=10.5, scheduled=100)])
    verdict = judge(s, duration_s=10.0, target_rps=10.0)
    assert verdict.valid
    assert verdict.reason is None
    assert verdict.achieved_ratio == pytest.approx(1.0)
    assert verdict.unsent_fraction == 0.0


def test_more_than_one_percent_unsent_alone_makes_the_run_invalid() -> None:
    # 1,000 scheduled at 100/s; 980 sent on time, the last 20 (2 %) never sent. The achieved
    # rate (98 %) and the send-lag p99 (1 ms) are judged separately.
    samples = on_time(980, 100.0)
    missed = [i / 100 for i in range(980, 1000)]
    s = summarize(samples, [unsent(missed, stopped_at=10.0, scheduled=1000)])
    verdict = judge(s, duration_s=10.0, target_rps=100.0)
    assert not verdict.valid
    assert verdict.unsent == 20
    assert verdict.reason is not None
    assert "2.0 % unsent" in verdict.reason
    assert not any("achieved" in r for r in verdict.reasons)


def test_exactly_one_percent_unsent_is_still_valid() -> None:
    samples = on_time(990, 100.0)
    missed = [9.9 + i / 1000 for i in range(10)]
    s = summarize(samples, [unsent(missed, stopped_at=9.91, scheduled=1000)])
    verdict = judge(s, duration_s=10.0, target_rps=100.0)
    assert verdict.unsent_fraction == pytest.approx(0.01)
    assert verdict.valid, verdict.problems


def test_a_low_achieved_rate_alone_makes_the_run_invalid() -> None:
    # Everything sent on time, but only 90 of the 100 intended arrivals existed (a gap).
    samples = on_time(90, 10.0)
    verdict = judge(summarize(samples), duration_s=10.0, target_rps=10.0)
    assert not verdict.valid
    assert verdict.reasons == ("achieved 90 % of the target rate",)


def test_send_lag_above_50_ms_alone_makes_the_run_invalid() -> None:
    samples = [
        sample(i / 10, i / 10 + (0.08 if i % 10 == 0 else 0.001), i / 10 + 0.1) for i in range(100)
    ]
    verdict = judge(summarize(samples), duration_s=10.0, target_rps=10.0)
    assert not verdict.valid
    assert verdict.reasons == ("p99 send lag 80 ms",)
    assert verdict.reason == "the generator fell behind: p99 send lag 80 ms"


def test_the_reason_names_every_rule_broken_in_the_issue_s_words() -> None:
    # 100/s for 10 s against a generator that manages 71/s and leaves 12 % unsent.
    samples = [sample(i / 100, i / 71, i / 71 + 0.01) for i in range(710)]
    missed = [i / 100 for i in range(880, 1000)]
    s = summarize(samples, [unsent(missed, stopped_at=10.0, scheduled=1000)])
    verdict = judge(s, duration_s=10.0, target_rps=100.0)
    assert verdict.reason is not None
    assert verdict.reason.startswith(
        "the generator fell behind: achieved 71 % of the target rate, 12 % unsent, p99 send lag"
    )


def test_the_closed_model_has_no_schedule_to_fall_behind() -> None:
    samples = [sample(i, i, i + 2.0) for i in range(10)]
    assert judge(summarize(samples), duration_s=10.0, target_rps=None).valid


def test_health_fields_carry_intervals_that_hold_their_value() -> None:
    samples = on_time(980, 100.0)
    missed = [i / 100 for i in range(980, 1000)]
    s = summarize(samples, [unsent(missed, stopped_at=10.0, scheduled=1000)])
    fields = health_fields(s, judge(s, duration_s=10.0, target_rps=100.0))
    assert fields["valid"] is False
    assert fields["unsent"] == 20
    assert fields["scheduled"] == 1000
    fraction = fields["unsent_fraction"]
    assert fraction["value"] == pytest.approx(0.02)
    assert fraction["low"] < fraction["value"] < fraction["high"]
    for key in ("p50", "p99"):
        lag = fields["send_lag_seconds"][key]
        assert lag["low"] <= lag["value"] <= lag["high"]
    # 20 censored lags 0.01 … 0.20 s on top of 980 of 1 ms: p99 is the 990th value (0.10 s); its
    # bounds the values at ranks 1000 * (0.99 ∓ 1.96 * sqrt(0.99 * 0.01 / 1000)) ≈ 984 and 996.
    p99 = fields["send_lag_seconds"]["p99"]
    assert (p99["low"], p99["value"], p99["high"]) == pytest.approx((0.04, 0.10, 0.16), rel=0.01)
