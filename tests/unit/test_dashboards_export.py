"""Pushgateway groups and load summaries, and `cqrs-bench grafana push` where no Grafana runs."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import typer
from prometheus_client.exposition import generate_latest
from typer.testing import CliRunner

from bench.cli import dashboards as dashboard_commands
from bench.export import annotate, grafana
from bench.export import metric_names as n
from bench.export.pushgateway import grouping_key, load_registry_for
from system.config import Settings

LOAD_RESULTS: dict[str, Any] = {
    "suite": "load/contention",
    "run_id": "20250101T120000Z-abcdef1",
    "finished_at": "2025-01-01T12:01:00+00:00",
    "environment": {"git_revision": "abcdef1234567890abcdef", "git_dirty": False},
    "load": [
        {
            "scenario": "contention",
            "model": "open",
            "target_rps": 50.0,
            "achieved_rps": 49.5,
            "requests": 2970,
            "failures": 3,
            "conflicts": 120,
            "unsent": 0,
            "latency_seconds": {"p50": 0.01, "p90": 0.02, "p99": 0.05, "p999": 0.09, "max": 0.1},
            "corrected": {"p50": 0.011, "p90": 0.03, "p99": 0.2, "p999": 0.4, "max": 0.5},
        }
    ],
    "lag": [
        {
            "projection": "account_balance",
            "stage": "end_to_end",
            "p50": 0.1,
            "p90": 0.2,
            "p99": 0.3,
            "max": 0.4,
        },
    ],
}


def exposition(data: dict[str, Any]) -> str:
    return generate_latest(load_registry_for(data)).decode()


def test_the_grouping_key_holds_the_suite_the_run_id_and_the_revision() -> None:
    assert grouping_key(LOAD_RESULTS) == {
        "suite": "load/contention",
        "run_id": "20250101T120000Z-abcdef1",
        "revision": "abcdef123456",
    }
    dirty = {**LOAD_RESULTS, "environment": {"git_revision": "abc", "git_dirty": True}}
    assert grouping_key(dirty)["revision"] == "abc-dirty"
    assert grouping_key({**LOAD_RESULTS, "environment": {}})["revision"] == "unknown"


def test_a_load_summary_pushes_rates_counts_raw_and_corrected_latency_and_lag() -> None:
    text = exposition(LOAD_RESULTS)
    keys = 'model="open",scenario="contention"'
    assert f"{n.LOAD_ACHIEVED_RPS_PUSHED}{{{keys}}} 49.5" in text
    assert f"{n.LOAD_TARGET_RPS_PUSHED}{{{keys}}} 50.0" in text
    assert f"cqrs_bench_load_conflicts{{{keys}}} 120.0" in text
    assert f"cqrs_bench_load_failures{{{keys}}} 3.0" in text
    p99 = 'model="open",percentile="p99",scenario="contention"'
    raw = f'{n.LOAD_LATENCY_PUSHED}{{latency="raw",{p99}}} 0.05'
    corrected = f'{n.LOAD_LATENCY_PUSHED}{{latency="corrected",{p99}}} 0.2'
    assert raw in text and corrected in text
    lag = f'{n.LAG_PUSHED}{{percentile="p99",projection="account_balance",stage="end_to_end"}} 0.3'
    assert lag in text
    assert f"{n.RUN_TIMESTAMP} 1.73573286e+09" in text


def test_a_closed_model_run_pushes_no_target_and_no_corrected_latency() -> None:
    row = {**LOAD_RESULTS["load"][0], "model": "closed", "target_rps": None, "corrected": None}
    text = exposition({**LOAD_RESULTS, "load": [row]})
    assert f"{n.LOAD_TARGET_RPS_PUSHED}{{" not in text
    assert 'latency="corrected"' not in text
    assert 'latency="raw"' in text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app() -> typer.Typer:
    root = typer.Typer()
    root.callback()(lambda: None)
    dashboard_commands.register(root)
    return root


def test_grafana_push_with_no_grafana_at_the_url_exits_2_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("CQRS_GRAFANA_URL", url)
    result = CliRunner().invoke(app(), ["grafana", "push"])
    assert result.exit_code == dashboard_commands.NO_GRAFANA_EXIT == 2
    assert "CQRS_GRAFANA_URL" in result.output
    assert url in result.output


class NotGrafana(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"404 page not found")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def not_grafana() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), NotGrafana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_grafana_push_to_a_server_that_is_not_grafana_exits_2(
    monkeypatch: pytest.MonkeyPatch, not_grafana: str
) -> None:
    monkeypatch.setenv("CQRS_GRAFANA_URL", not_grafana)
    result = CliRunner().invoke(app(), ["grafana", "push"])
    assert result.exit_code == 2
    assert "is not a Grafana" in result.output and "CQRS_GRAFANA_URL" in result.output


def test_annotate_with_no_grafana_raises_grafana_unavailable() -> None:
    settings = Settings(grafana_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(grafana.GrafanaUnavailable, match="CQRS_GRAFANA_URL"):
        annotate(settings, "run 1", ["run"], 1_700_000_000.0, 1_700_000_060.0)


def test_a_token_is_preferred_to_user_and_password() -> None:
    assert grafana._credential(Settings(grafana_token="glsa_x")) == "glsa_x"
    assert grafana._credential(Settings(grafana_user="u", grafana_password="p")) == ("u", "p")


def test_the_datasource_carries_the_uid_the_dashboards_use() -> None:
    source = grafana.datasource("http://prometheus:9090")
    assert source["uid"] == "prometheus" and source["url"] == "http://prometheus:9090"
