"""The end of a load run: its summary pushed to the Pushgateway (and Grafana annotated), then
every panel of its dashboards rendered from Prometheus into its directory (after the push, so
the Pushgateway panels show this run)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.export import RUN_TAGS, GrafanaUnavailable, annotate, push_load
from bench.report.panels import SCRAPE_INTERVAL_S, render_panels
from bench.report.results import Results
from system.config import Settings


async def render_run_panels(
    data: Mapping[str, Any], settings: Settings, out: Path, started: float
) -> list[str]:
    """Render the panels over [started, now] into `out/panels/`; notes for panels without data."""
    await asyncio.sleep(3 * SCRAPE_INTERVAL_S)  # Prometheus scrapes the pushed summary
    known = {"run_id": str(data["run_id"])}
    for row in data.get("load") or []:
        known["scenario"] = str(row["scenario"])
    panels = await render_panels(settings.prometheus_url, started, time.time(), out, known)
    empty = [f"{p.dashboard}: {p.title} ({p.note})" for p in panels if p.file is None]
    if not empty:
        return []
    return [f"{len(empty)} dashboard panel(s) without data: " + "; ".join(empty)]


async def publish_run(results: Results, settings: Settings) -> list[str]:
    """Push the run's summary to the Pushgateway, and annotate Grafana when CQRS_GRAFANA_URL is
    set; a finished run never fails for either: the notes returned say what was not published."""
    notes: list[str] = []
    try:
        await asyncio.to_thread(push_load, results.to_dict(), settings.pushgateway_url)
    except OSError as exc:
        notes.append(f"Pushgateway not reached ({exc}): the load summary was not pushed")
    if os.environ.get("CQRS_GRAFANA_URL"):
        try:
            await asyncio.to_thread(
                annotate,
                settings,
                f"cqrs-bench load {results.run_id} ({results.config.get('scenario')})",
                [*RUN_TAGS, results.run_id],
                datetime.fromisoformat(results.started_at),
                datetime.fromisoformat(results.finished_at or results.started_at),
            )
        except GrafanaUnavailable as exc:
            notes.append(f"Grafana not annotated: {exc}")
    return notes
