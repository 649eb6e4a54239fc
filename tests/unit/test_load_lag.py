"""Lag rows are exact percentiles of the projector's per-event stage stamps."""

from __future__ import annotations

import pytest

from bench.lag.stamps import lag_rows, quantile


def stamp(projection: str, recorded: float, step: float) -> dict[str, object]:
    return {
        "projection": projection,
        "recorded_at": recorded,
        "published_at": recorded + step,
        "consumed_at": recorded + 2 * step,
        "indexed_at": recorded + 3 * step,
        "searchable_at": recorded + 4 * step,
    }


def test_nearest_rank_quantile_returns_one_of_the_values() -> None:
    values = [float(v) for v in range(1, 101)]
    assert quantile(values, 0.5) == 50.0
    assert quantile(values, 0.99) == 99.0
    assert quantile(values, 1.0) == 100.0
    assert quantile([], 0.5) == 0.0


def test_stage_lags_are_differences_of_stamps_per_projection() -> None:
    stamps = [stamp("inventory", 100.0 + i, 0.01 * (i + 1)) for i in range(100)]
    stamps.append(stamp("revenue", 5.0, 0.5))
    rows = {(r["projection"], r["stage"]): r for r in lag_rows(stamps)}
    assert set(rows) == {
        (p, s)
        for p in ("inventory", "revenue")
        for s in ("relay", "kafka", "index", "refresh", "end_to_end")
    }
    relay = rows["inventory", "relay"]
    assert relay["p50"] == pytest.approx(0.50)
    assert relay["p99"] == pytest.approx(0.99)
    assert relay["max"] == pytest.approx(1.00)
    assert rows["inventory", "end_to_end"]["max"] == pytest.approx(4.0)
    assert rows["revenue", "kafka"]["p50"] == pytest.approx(0.5)
