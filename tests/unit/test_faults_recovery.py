"""Recovery time, client errors in the fault window, and the version probe's bookkeeping."""

from __future__ import annotations

from bench.faults.plan import parse_fault
from bench.faults.recovery import Poll, behind, error_window, errors_by_status, recovered_at
from bench.faults.session import Injected
from bench.faults.versions import VersionTracker
from bench.load.samples import Sample
from bench.run.fault_matrix import recovery_summary


def _sample(sent: float, finished: float, status: int, outcome: str = "error") -> Sample:
    return Sample(
        request="deposit",
        intended=sent,
        sent=sent,
        finished=finished,
        outcome=outcome,  # type: ignore[arg-type]
        status=status,
    )


def test_recovery_is_the_first_poll_after_the_action_where_all_is_well() -> None:
    polls = [
        Poll(100.0, True, True),  # before the action ended: a paused service can look fine
        Poll(101.0, False, False),
        Poll(102.0, True, False),  # healthy, projections still behind
        Poll(103.0, True, True),
        Poll(104.0, True, True),
    ]
    assert recovered_at(polls, after=100.5) == 103.0
    assert recovered_at(polls[:3], after=100.5) is None


def test_behind_lists_projections_below_the_head() -> None:
    assert behind({"a": 10, "b": 12, "c": 9}, 10) == ["c"]
    assert behind({"a": 10}, 10) == []


def test_errors_in_the_window_by_status() -> None:
    samples = [
        _sample(9.0, 9.5, 503),  # over before the fault
        _sample(9.8, 10.2, 0),  # in flight at the fault
        _sample(11.0, 11.1, 503),
        _sample(11.5, 11.6, 503),
        _sample(12.0, 12.1, 201, "ok"),
        _sample(14.9, 15.5, 500),  # sent before the window closed
        _sample(16.0, 16.1, 503),  # after
    ]
    assert errors_by_status(samples, 10.0, 15.0) == {"0": 1, "500": 1, "503": 2}
    assert error_window(samples, 10.0, 15.0) == (9.8, 15.5)
    assert error_window(samples, 12.0, 12.5) is None


def test_a_fault_row_measures_from_the_action_start() -> None:
    done = Injected(parse_fault("relay:kill@3"), started=1003.2, done=1003.3, head=40)
    done.polls = [Poll(1003.5, False, False), Poll(1005.7, True, True)]
    row = done.row(1000.0, [_sample(1003.4, 1003.6, 503)])
    assert row["at"] == 3.2 and row["planned_at"] == 3.0
    assert row["recovery_seconds"] == 2.5 and row["recovered"]
    assert row["errors"] == {"503": 1} and row["error_window"] == [0.2, 0.4]
    done.polls = done.polls[:1]
    assert done.row(1000.0, [])["recovery_seconds"] is None


def test_the_version_tracker_catches_a_document_going_back() -> None:
    tracker = VersionTracker()
    tracker.observe("account_balance", ["a", "b"], {"a": 1}, 1.0)
    tracker.observe("account_balance", ["a", "b"], {"a": 3, "b": 2}, 2.0)
    tracker.observe("account_balance", ["a", "b"], {"a": 3, "b": 2}, 3.0)
    passed = tracker.check()
    assert passed.passed and passed.check == "read_models_never_went_back"
    tracker.observe("account_balance", ["a", "b"], {"a": 2}, 4.0)  # a went back, b vanished
    failed = tracker.check()
    assert not failed.passed
    assert [(r.doc_id, r.before, r.after) for r in tracker.regressions] == [
        ("a", 3, 2),
        ("b", 2, None),
    ]
    assert "account_balance/a" in failed.detail
    assert not VersionTracker().check().passed, "a probe that read nothing proves nothing"


def test_recovery_summary_gives_median_and_max_per_fault() -> None:
    rows = [
        {"service": "relay", "action": "kill", "recovery_seconds": s, "errors": e}
        for s, e in ((2.0, {}), (4.0, {"503": 1}), (3.0, {"503": 2}))
    ] + [{"service": "api", "action": "kill", "recovery_seconds": None, "errors": {}}]
    relay, api = recovery_summary(rows)
    assert (relay["median_s"], relay["max_s"], relay["errors"]) == (3.0, 4.0, {"503": 3})
    assert (api["recovered"], api["median_s"]) == (0, None)
