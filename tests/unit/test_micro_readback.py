"""The micro suites' read-back checks: a stream short of events, with a gap or a duplicate
version, or missing altogether is reported; whole streams are not."""

from __future__ import annotations

from bench.micro.harness import StreamRows, shares, stream_faults


def whole(n: int) -> StreamRows:
    return StreamRows(rows=n, versions=n, first=1, last=n)


def test_whole_streams_pass() -> None:
    assert stream_faults({"a": whole(3), "b": whole(1)}, {"a": 3, "b": 1}) == []


def test_a_short_stream_is_reported() -> None:
    """One append in ten skipped: the stream holds 1..9 where 1..10 were written."""
    faults = stream_faults({"a": whole(9), "b": whole(10)}, {"a": 10, "b": 10})
    assert faults == ["a: 9 rows, 9 distinct versions 1..9, expected versions 1..10 once each"]


def test_a_gap_or_a_duplicate_is_reported() -> None:
    gap = StreamRows(rows=10, versions=10, first=1, last=11)
    duplicate = StreamRows(rows=10, versions=9, first=1, last=10)
    late_start = StreamRows(rows=10, versions=10, first=2, last=11)
    found = {"gap": gap, "dup": duplicate, "late": late_start}
    assert len(stream_faults(found, dict.fromkeys(found, 10))) == 3


def test_a_missing_stream_is_reported() -> None:
    assert stream_faults({}, {"a": 2}) == ["a: no rows, expected versions 1..2"]


def test_shares_split_the_total_as_spread_over_does() -> None:
    assert shares(4, 10) == [3, 3, 2, 2]
    assert shares(3, 3) == [1, 1, 1]
    assert sum(shares(7, 40)) == 40
