"""A 30-second load run draws its pictures: time series from its raw data, and every panel of
the load and read-side dashboards from the real Prometheus, each with data, in report.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.report.panels import DASHBOARD_DIR, PANELS_DIR, read_dashboard, slug
from tests.e2e.test_load_runs import run_load

pytestmark = pytest.mark.e2e

REQUIRED = ("cqrs-load", "cqrs-read-side")
TIME_SERIES = (
    "load_rate.png",
    "load_latency.png",
    "load_lag_stages.png",
    "load_consumer_position_lag.png",
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("pictures")
    data = run_load(
        out, "--scenario", "orders", "--rate", "20", "--duration", "30s", "--warmup", "3",
        "--calibration", "0",
    )  # fmt: skip
    assert data["exit_code"] == 0, data["output"][-3000:]
    return out, data


def test_every_panel_of_the_load_and_read_side_dashboards_has_data(
    run: tuple[Path, dict[str, Any]],
) -> None:
    out, _ = run
    manifest = json.loads((out / PANELS_DIR / "panels.json").read_text())
    for name in REQUIRED:
        model, panels = read_dashboard(DASHBOARD_DIR / f"{name}.json")
        assert panels, name
        rendered = {
            r["file"]: r for r in manifest if r["dashboard"] == model["title"] and r["file"]
        }
        empty = [
            f"{r['title']}: {r['note']} {r['queries']}"
            for r in manifest
            if r["dashboard"] == model["title"] and not r["file"]
        ]
        assert empty == [], f"{name}: panels without data"
        for panel in panels:
            file = f"{PANELS_DIR}/{panel.dashboard_uid}__{slug(panel.title)}.png"
            assert file in rendered, f"{name}: no PNG for {panel.title!r}"
            assert rendered[file]["series"] > 0
            assert (out / file).stat().st_size > 5_000


def test_the_run_directory_holds_the_time_series_and_report_html_embeds_everything(
    run: tuple[Path, dict[str, Any]],
) -> None:
    out, data = run
    series = json.loads((out / "timeseries.json").read_text())
    measured = [n for n, t in zip(series["seconds"], series["target_rps"], strict=True) if t]
    assert sum(series["achieved_rps"]) >= data["load"][0]["requests"]
    assert series["warmup_end"] == pytest.approx(3, abs=1.0)
    assert len(measured) >= 30
    assert {"order_status", "customer_orders", "inventory", "revenue"} <= set(series["lag"])
    assert series["probe"]["consumer_lag"] and series["probe"]["position_lag"]
    page = (out / "report.html").read_text()
    markdown = (out / "report.md").read_text()
    pngs = sorted(p.relative_to(out).as_posix() for p in (out / PANELS_DIR).glob("*.png"))
    assert len(pngs) >= 20
    for name in [*TIME_SERIES, *pngs]:
        assert (out / name).exists(), name
        assert f'src="{name}"' in page, name
        assert f"]({name})" in markdown, name
    assert "Requests by name" in markdown and "place order" in markdown
    assert "NOT MEASURED" not in markdown and "Targets" not in markdown
