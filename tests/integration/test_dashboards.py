"""The generated dashboards against the real Prometheus: every panel query, variable selector and
annotation query parses; panels keep their shape (per projection, instant Pushgateway bars);
`cqrs-bench grafana push` at a server that is not a Grafana exits 2."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from bench.cli import dashboards as dashboard_commands
from bench.export import dashboards, panels
from system.config import Settings

pytestmark = pytest.mark.integration

SAMPLE_VALUES = {"$__rate_interval": "1m", "$__interval": "15s"}
"""What Grafana substitutes for its own variables (any valid duration parses the same)."""


def concrete(expr: str) -> str:
    """`expr` as Grafana would send it with every template variable at `All` (`.*`)."""
    for name, value in SAMPLE_VALUES.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$[a-z_]+", ".*", expr)


def queries() -> list[tuple[str, str, str]]:
    found = []
    for name, model in dashboards.generated().items():
        for panel in dashboards.panels(model):
            for target in panel["targets"]:
                found.append((name, panel["title"], target["expr"]))
        for annotation in model["annotations"]["list"]:
            if "expr" in annotation:
                found.append((name, f"annotation {annotation['name']}", annotation["expr"]))
        for variable in model["templating"]["list"]:
            selector = re.fullmatch(r"label_values\((.+), *\w+\)", variable.get("query", ""))
            if selector:
                found.append((name, f"variable {variable['name']}", selector.group(1)))
    return found


def prometheus_query(settings: Settings, expr: str) -> dict[str, Any]:
    response = httpx.get(
        f"{settings.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10
    )
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(("dashboard", "panel", "expr"), queries())
def test_prometheus_accepts_the_panel_query(
    settings: Settings, dashboard: str, panel: str, expr: str
) -> None:
    body = prometheus_query(settings, concrete(expr))
    assert body["status"] == "success", f"{dashboard} / {panel}: {body.get('error')}"


def test_a_broken_query_is_refused_by_the_same_check(settings: Settings) -> None:
    broken = concrete('sum by (projection (rate(cqrs_projection_events_total{projection=~"$x"}')
    body = prometheus_query(settings, broken)
    assert body["status"] == "error" and "parse error" in body["error"]


METRIC = re.compile(r"\b(cqrs_[a-z_]+)\b")
SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def bench_declared() -> set[str]:
    """Names bench itself exports: pushed by runs, or served by the locust exporter."""
    from bench.export import metric_names as n
    from bench.report.constants import MICRO_METRICS

    load = {n.LOAD_REQUESTS_TOTAL, n.LOAD_LATENCY, n.LOAD_USERS, n.LOAD_TARGET_RPS}
    return set(MICRO_METRICS) | set(n.LOAD_METRICS) | load


def system_exported(settings: Settings) -> set[str]:
    """Metric families Prometheus scraped from the running api, relay and projector (their
    HELP/TYPE lines list a family before its first sample)."""
    response = httpx.get(f"{settings.prometheus_url}/api/v1/metadata", timeout=10)
    return set(response.json()["data"])


def unknown_metrics(expr: str, known: set[str]) -> list[str]:
    """The metric names in `expr` that nothing exports."""

    def base(name: str) -> str:
        for suffix in SUFFIXES:
            if name.endswith(suffix) and name.removesuffix(suffix) in known:
                return name.removesuffix(suffix)
        return name

    return [name for name in METRIC.findall(expr) if base(name) not in known]


def test_every_panel_names_a_metric_that_is_exported(settings: Settings) -> None:
    known = system_exported(settings) | bench_declared()
    assert "cqrs_commands" in known or "cqrs_commands_total" in known, "api not scraped"
    unknown = {
        (dashboard, panel, name)
        for dashboard, panel, expr in queries()
        for name in unknown_metrics(expr, known)
    }
    assert unknown == set()
    planted = 'sum(rate(cqrs_command_conflcts_total{projection=~"$projection"}[1m]))'
    assert unknown_metrics(planted, known) == ["cqrs_command_conflcts_total"]


def test_every_query_covers_every_dashboard_and_each_one_has_its_variables() -> None:
    found = queries()
    assert {d for d, _, _ in found} == set(dashboards.generated())
    for name, model in dashboards.generated().items():
        names = {v["name"] for v in model["templating"]["list"]}
        assert set(panels.VARIABLES) <= names, name
        assert sum(1 for d, p, _ in found if d == name and p.startswith("variable")) >= 3


def test_lag_panels_are_per_projection_and_pushgateway_bars_are_instant() -> None:
    lag = re.compile(r"cqrs_projection_(lag_seconds|consumer_lag|position_lag)")
    per_projection = re.compile(r"by \([^)]*\bprojection\b|\$projection")
    seen_lag = seen_bars = 0
    for model in dashboards.generated().values():
        for panel in dashboards.panels(model):
            for target in panel["targets"]:
                if lag.search(target["expr"]):
                    seen_lag += 1
                    assert per_projection.search(target["expr"]), panel["title"]
                if panel["type"] == "barchart":
                    seen_bars += 1
                    assert target["instant"] and target["format"] == "table", panel["title"]
    assert seen_lag >= 5 and seen_bars >= 10


def test_grafana_push_at_prometheus_which_is_no_grafana_exits_2(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CQRS_GRAFANA_URL", settings.prometheus_url)
    root = typer.Typer()
    root.callback()(lambda: None)
    dashboard_commands.register(root)
    result = CliRunner().invoke(root, ["grafana", "push"])
    assert result.exit_code == 2, result.output
    assert "is not a Grafana" in result.output
    assert "CQRS_GRAFANA_URL" in result.output
