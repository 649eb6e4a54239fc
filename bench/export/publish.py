"""A finished load run's summary published: pushed to the Pushgateway, and a Grafana annotation
when CQRS_GRAFANA_URL is set."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime

from bench.export.grafana import RUN_TAGS, GrafanaUnavailable, annotate
from bench.export.pushgateway import push_load
from bench.report.results import Results
from system.config import Settings


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
