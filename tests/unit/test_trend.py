"""A paired comparison that drifts through the run is flagged, and never called MET."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from bench.micro.figures import ratio_fields
from bench.micro.sections.peers import rows
from bench.report.intervals import TREND_Z, Interval, pair_ratios, trend_z
from bench.report.tables import section_table
from bench.report.targets import TargetSpec, evaluate, judge

ROUNDS = 12
DRIFTING = [0.08 + (0.19 - 0.08) * r / (ROUNDS - 1) for r in range(ROUNDS)]
"""Our c16 rounds slowing steadily from 0.08 s to 0.19 s through the rotation."""


def steady(centre: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [centre * (1 + rng.uniform(-0.03, 0.03)) for _ in range(ROUNDS)]


CEILING = steady(0.02, 1)
"""The raw INSERT rounds paired with ours: flat, with small noise."""


def append_row(ours: list[float]) -> dict[str, Any]:
    """An `append` row of 1,600 events per round, paired with the raw INSERT's rounds."""
    b = {
        "stats": {"data": ours},
        "extra_info": {
            "kind": "append",
            "events": 1600,
            "paired": {"kind": "append_raw", "seconds": CEILING},
        },
    }
    ceiling = {"stats": {"data": CEILING}, "extra_info": {"kind": "append_raw", "events": 1600}}
    return {"connections": 16, "batch": 1, **ratio_fields(b, ceiling)}


def judged(row: dict[str, Any]) -> dict[str, Any]:
    spec = TargetSpec(
        name="c16 append",
        goal="within 10x of raw INSERT",
        section="append",
        figure="ratio",
        op=">=",
        threshold=0.05,
        where={"connections": 16, "batch": 1},
    )
    (target,), notes = evaluate([spec], {"append": [row]})
    assert not notes
    return target


def test_a_strictly_increasing_series_has_the_textbook_z() -> None:
    # S = n(n-1)/2 = 66, Var(S) = n(n-1)(2n+5)/18 = 212.67, z = (S - 1) / sqrt(Var(S))
    assert trend_z(list(range(12))) == pytest.approx(65 / math.sqrt(12 * 11 * 29 / 18))
    assert trend_z(list(range(12))) == pytest.approx(4.4572, abs=1e-4)
    assert trend_z(list(range(12, 0, -1))) == pytest.approx(-4.4572, abs=1e-4)


def test_ties_shrink_the_variance() -> None:
    # [1, 2, 2, 3]: S = 5 (five rising pairs, one tie); Var(S) = (4*3*13 - 2*1*9) / 18
    assert trend_z([1, 2, 2, 3]) == pytest.approx(4 / math.sqrt(138 / 18))


def test_a_constant_or_short_series_has_no_trend() -> None:
    assert trend_z([0.1] * 12) == 0.0
    assert trend_z([0.1, 0.2]) == 0.0
    assert trend_z([]) == 0.0


def test_pair_ratios_divide_round_by_round_and_refuse_unequal_sides() -> None:
    assert pair_ratios([2.0, 3.0], [1.0, 4.0]) == [2.0, 0.75]
    with pytest.raises(ValueError):
        pair_ratios([1.0], [1.0, 2.0])


def test_ours_drifting_against_a_steady_ceiling_is_inconclusive_and_says_why() -> None:
    row = append_row(DRIFTING)
    assert row["ratio_trend_z"] < -TREND_Z
    assert row["ratio_trend_z"] == pytest.approx(-4.4572, abs=0.05)
    assert row["ratio_low"] > 0.05  # the interval alone would call it MET
    target = judged(row)
    assert target["verdict"] == "INCONCLUSIVE"
    assert target["reason"] == (
        f"the paired rounds trended through the run (Mann-Kendall z ="
        f" {row['ratio_trend_z']:.2f}, |z| > 2.576)"
    )


def test_ours_steady_against_a_steady_ceiling_stays_met() -> None:
    row = append_row(steady(0.135, 2))
    assert abs(row["ratio_trend_z"]) < TREND_Z
    target = judged(row)
    assert target["verdict"] == "MET"
    assert target["reason"] == "the whole interval meets the threshold"


def test_an_unpaired_ratio_carries_no_trend() -> None:
    b = {"stats": {"data": DRIFTING}, "extra_info": {"kind": "append", "events": 1600}}
    ceiling = {"stats": {"data": CEILING}, "extra_info": {"kind": "append_raw", "events": 1600}}
    assert "ratio_trend_z" not in ratio_fields(b, ceiling)


def test_a_peer_row_carries_the_trend_of_ours_over_theirs_and_the_table_shows_it() -> None:
    matchup = {
        "concurrency": 16,
        "ours_concurrency": 16,
        "theirs_concurrency": 16,
        "ours_seconds": DRIFTING,
        "theirs_seconds": steady(0.2, 3),
    }
    info = {"peer": "message-db", "workload": "append", "unit": "events/s", "events": 1600}
    (row,) = rows({"extra_info": {**info, "matchups": [matchup]}})
    assert row["ratio_trend_z"] == pytest.approx(-4.4572, abs=0.05)
    table = section_table("peers", [row, {**row, "ratio_trend_z": None}])
    column = table.header.index("trend z")
    assert [r[column] for r in table.rows] == [f"{row['ratio_trend_z']:.2f}", "-"]


def test_shuffled_rounds_rarely_look_like_a_trend() -> None:
    values = steady(0.1, 4)
    rng = random.Random(20261202)
    flagged = 0
    for _ in range(2000):
        shuffled = values[:]
        rng.shuffle(shuffled)
        flagged += abs(trend_z(shuffled)) > TREND_Z
    assert flagged / 2000 < 0.02


def test_a_trend_beyond_the_limit_overrides_a_missed_interval_and_one_within_it_does_not() -> None:
    spec = TargetSpec(name="t", goal="g", section="peers", figure="ratio", op=">=", threshold=1.0)
    missed = Interval(0.8, 0.7, 0.9)
    assert judge(spec, missed, trend_z=-2.65) == (
        "INCONCLUSIVE",
        "the paired rounds trended through the run (Mann-Kendall z = -2.65, |z| > 2.576)",
    )
    assert judge(spec, missed, trend_z=2.5)[0] == "MISSED"
    assert judge(spec, missed)[0] == "MISSED"
