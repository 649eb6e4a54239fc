"""Every panel query of the generated dashboards is accepted by the real Prometheus."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bench.export.dashboards import DASHBOARDS, OUT_DIR, build
from system.config import Settings


def queries() -> list[tuple[str, str, str]]:
    found = []
    for make in DASHBOARDS:
        dashboard = make().to_json()
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                found.append((dashboard["uid"], panel["title"], target["expr"]))
    return found


def test_the_committed_dashboards_are_the_generated_ones(tmp_path: Path) -> None:
    for path in build(tmp_path):
        committed = OUT_DIR / path.name
        assert committed.is_file(), f"run `python -m bench.export.dashboards` ({path.name})"
        assert json.loads(committed.read_text()) == json.loads(path.read_text())


@pytest.mark.parametrize(("dashboard", "panel", "expr"), queries())
def test_prometheus_accepts_the_panel_query(
    settings: Settings, dashboard: str, panel: str, expr: str
) -> None:
    response = httpx.get(
        f"{settings.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10
    )
    body = response.json()
    assert body["status"] == "success", f"{dashboard} / {panel}: {body.get('error')}"


def test_dashboards_only_use_metric_names_the_code_exports() -> None:
    from prometheus_client import REGISTRY

    import system.metrics  # noqa: F401  (registers the system's metrics)
    from bench.load import metrics as load_metrics
    from bench.report.constants import MICRO_METRICS

    exported = {m.name for m in REGISTRY.collect()} | set(MICRO_METRICS)
    exported |= {
        load_metrics.REQUESTS_TOTAL.removesuffix("_total"),
        load_metrics.LATENCY_SECONDS,
        load_metrics.USERS,
        load_metrics.TARGET_RPS,
    }
    for dashboard, panel, expr in queries():
        names = {w for w in _identifiers(expr) if w.startswith("cqrs_")}
        for name in names:
            base = name.removesuffix("_bucket").removesuffix("_total")
            assert base in exported, f"{dashboard} / {panel}: {name} is not exported"


def _identifiers(expr: str) -> list[str]:
    import re

    return re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
