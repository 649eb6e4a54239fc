"""`grafana.push` and `annotate` against a stand-in that answers like Grafana's HTTP API (no
Grafana server can run here; compose's is the real one): what they send, and that provisioned
dashboards are left alone."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from bench.export import FAULT_TAGS, annotate, dashboards, grafana
from system.config import Settings


class FakeGrafana(BaseHTTPRequestHandler):
    provisioned: ClassVar[set[str]] = set()
    received: ClassVar[list[tuple[str, str, Any]]] = []

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.received.append(("GET", self.path, None))
        if self.path == "/api/health":
            self._answer(200, {"database": "ok", "version": "11.6.0"})
        elif self.path.startswith("/api/dashboards/uid/"):
            uid = self.path.rsplit("/", 1)[1]
            if uid in self.provisioned:
                self._answer(200, {"dashboard": {"uid": uid}, "meta": {"provisioned": True}})
            else:
                self._answer(404, {"message": "Dashboard not found"})
        else:
            self._answer(404, {"message": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        self.received.append(("POST", self.path, body))
        answers = {"/api/annotations": {"id": 42, "message": "Annotation added"}}
        self._answer(200, answers.get(self.path, {"status": "success"}))

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[Settings]:
    FakeGrafana.received = []
    FakeGrafana.provisioned = {"cqrs-micro"}
    server = HTTPServer(("127.0.0.1", 0), FakeGrafana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Settings(grafana_url=f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()


def test_push_creates_the_datasource_folder_and_dashboards_and_keeps_provisioned_ones(
    fake: Settings,
) -> None:
    done = grafana.push(fake, "http://prometheus:9090")
    outcomes = {(d.kind, d.uid): d.outcome for d in done}
    assert outcomes[("datasource", "prometheus")] == "created"
    assert outcomes[("dashboard", "cqrs-micro")] == "kept"
    assert outcomes[("dashboard", "cqrs-load")] == "created"
    posts = {path: body for method, path, body in FakeGrafana.received if method == "POST"}
    assert posts["/api/datasources"]["url"] == "http://prometheus:9090"
    assert posts["/api/folders"]["uid"] == grafana.FOLDER_UID
    saved = [b for m, p, b in FakeGrafana.received if p == "/api/dashboards/db"]
    assert sorted(b["dashboard"]["uid"] for b in saved) == [
        "cqrs-load",
        "cqrs-read-side",
        "cqrs-write-side",
    ]
    assert all(b["overwrite"] and b["folderUid"] == grafana.FOLDER_UID for b in saved)
    assert saved[0]["dashboard"] == dashboards.generated()[f"{saved[0]['dashboard']['uid']}.json"]


def test_annotate_posts_a_region_in_milliseconds_with_the_project_tag(fake: Settings) -> None:
    got = annotate(fake, "kill kafka", [*FAULT_TAGS, "kafka"], 1_700_000_000.5, 1_700_000_030)
    assert got == 42
    body = next(b for m, p, b in FakeGrafana.received if p == "/api/annotations")
    assert body["time"] == 1_700_000_000_500 and body["timeEnd"] == 1_700_000_030_000
    assert body["tags"] == ["cqrs-bench", "fault", "kafka"]
    assert body["text"] == "kill kafka"
