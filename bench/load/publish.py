"""The end of a load run: every panel of its dashboards rendered from Prometheus into its
directory (after the summary was pushed, so the Pushgateway panels show this run)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.report.panels import SCRAPE_INTERVAL_S, render_panels
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
