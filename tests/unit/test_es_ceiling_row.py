"""Elasticsearch's bulk + refresh ceiling: its row, and the index and refresh stages beside it."""

from __future__ import annotations

import pytest

from bench.lag.es_ceiling import Batch, ceiling_row, projector_refresh, quantile, read_models
from bench.report.constants import ES_CEILING as NAME
from bench.report.lag_ceilings import lag_lines


def test_quantile_is_nearest_rank() -> None:
    values = [0.4, 0.1, 0.3, 0.2]
    assert quantile(values, 0.5) == 0.2
    assert quantile(values, 0.99) == 0.4
    assert quantile([0.7], 0.5) == 0.7


def test_ceiling_row_is_the_median_round_with_each_step_apart() -> None:
    rounds = [
        [Batch(0.010, 0.030), Batch(0.020, 0.040), Batch(0.012, 0.100)],
        [Batch(0.011, 0.031), Batch(0.030, 0.050), Batch(0.013, 0.200)],
        [Batch(0.009, 0.029), Batch(0.040, 0.060), Batch(0.014, 0.300)],
    ]
    row = ceiling_row(rounds, ["order_status", "revenue"], docs_per_bulk=8, batches_per_s=4)
    assert row["name"] == NAME and row["unit"] == "seconds"
    assert row["value"] == pytest.approx(0.080)
    assert (row["low"], row["high"]) == pytest.approx((0.060, 0.100))
    assert row["index_p50"] == 0.013
    assert row["refresh_p50"] == 0.050 and row["refresh_p99"] == 0.200
    assert row["p99"] == pytest.approx(0.213)
    assert "9 batches" in row["work"] and "order_status, revenue" in row["work"]
    assert "8 docs" in row["work"]


def test_lag_lines_set_index_and_refresh_beside_the_ceiling_with_or_without_kafka() -> None:
    lag = [
        {"projection": "order_status", "stage": "index", "p50": 0.06, "p99": 0.3},
        {"projection": "order_status", "stage": "refresh", "p50": 0.09, "p99": 0.3},
        {"projection": "order_status", "stage": "kafka", "p50": 0.001, "p99": 0.02},
    ]
    es = {
        "name": NAME,
        "value": 0.05,
        "index_p50": 0.02,
        "index_p99": 0.1,
        "refresh_p50": 0.03,
        "refresh_p99": 0.15,
    }
    lines = lag_lines(lag, [es])
    assert len(lines) == 2
    assert "ceiling bulk p50 20.0 ms, p99 100.0 ms; refresh p50 30.0 ms" in lines[0]
    assert lines[1] == (
        "order_status: index p50 60.0 ms (3.0x the ceiling), p99 300.0 ms (3.0x the ceiling);"
        " refresh p50 90.0 ms (3.0x the ceiling), p99 300.0 ms (2.0x the ceiling)"
    )
    kafka = {"name": "kafka_end_to_end_latency", "value": 0.001, "p99": 0.01}
    assert lag_lines(lag, [kafka, es])[-2:] == lines
    assert lag_lines(lag, []) == []


def test_an_immediate_ceiling_sets_the_index_stage_beside_bulks_that_refresh_themselves() -> None:
    rounds = [[Batch(0.030, 0.0), Batch(0.040, 0.0)]] * 3
    row = ceiling_row(rounds, ["revenue"], refresh_mode="immediate")
    assert row["refresh_mode"] == "immediate" and row["refresh_p50"] == 0.0
    assert "each bulk with refresh=true" in row["work"]
    assert "then one refresh" not in row["work"]
    assert "then one refresh of them all" in ceiling_row(rounds, ["revenue"])["work"]
    lag = [
        {"projection": "revenue", "stage": "index", "p50": 0.09, "p99": 0.2},
        {"projection": "revenue", "stage": "refresh", "p50": 0.0, "p99": 0.0},
    ]
    lines = lag_lines(lag, [row])
    assert "ceiling bulk p50 30.0 ms, p99 40.0 ms with refresh=true (each bulk" in lines[0]
    waited = lag_lines(lag, [{**row, "refresh_mode": "wait_for"}])[0]
    assert "with refresh=wait_for (each bulk waits for the index's scheduled refresh" in waited
    assert lines[1] == (
        "revenue: index p50 90.0 ms (3.0x the ceiling), p99 200.0 ms (5.0x the ceiling)"
    )


def test_the_ceiling_refreshes_as_the_runs_projectors_did() -> None:
    def config(*modes: str) -> dict[str, object]:
        return {"projector_settings": [{"refresh": m, "instance_id": "p"} for m in modes]}

    assert projector_refresh(config("immediate", "immediate"), "explicit") == "immediate"
    assert projector_refresh(config("explicit"), "immediate") == "explicit"
    assert projector_refresh(config("explicit", "immediate"), "wait_for") == "wait_for"
    assert projector_refresh({}, "explicit") == "explicit"


def test_read_models_are_those_the_scenario_writes() -> None:
    lag = [
        {"projection": name, "stage": "index"}
        for name in ("account_balance", "customer_orders", "inventory", "order_status", "revenue")
    ]
    assert read_models(lag, "orders") == [
        "customer_orders",
        "inventory",
        "order_status",
        "revenue",
    ]
    assert read_models(lag, "banking") == ["account_balance"]
    assert read_models(lag[1:2], "banking") == ["customer_orders"]
    assert read_models([], "orders") == []
