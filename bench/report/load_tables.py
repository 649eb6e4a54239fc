"""Load-report tables beyond the load row: the per-request table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.report.tables import Table, plain, seconds

TITLE = "Requests by name"


def requests_table(rows: list[Mapping[str, Any]]) -> Table | None:
    """Per request name of every load row: count, failures, p50/p99 raw and corrected."""
    body: list[list[str]] = []
    corrected = any(r.get("corrected") for row in rows for r in row.get("by_request") or [])
    for row in rows:
        for r in row.get("by_request") or []:
            raw, cor = r["latency_seconds"], r.get("corrected") or {}
            cells = [str(r["request"]), plain(r["requests"]), plain(r["failures"])]
            cells += [seconds(raw["p50"]), seconds(raw["p99"])]
            if corrected:
                cells += [seconds(cor.get("p50")), seconds(cor.get("p99"))]
            body.append(cells)
    if not body:
        return None
    header = ["request", "count", "failures", "p50", "p99"]
    if corrected:
        header += ["p50 corrected", "p99 corrected"]
    notes = ["Failures are errors (5xx, timeouts); a 409 or a 202 is its own request name."]
    return Table(TITLE, header, body, notes)
