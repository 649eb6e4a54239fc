"""The settings the running projectors report, so a run records what it measured.

Each projector process publishes the settings that change its figures
(`cqrs_projector_settings_info` in `system/metrics.py`). They are read from Prometheus over the
run's window rather than from the harness's own `.env`: a projector started before `.env` was
edited still runs with its old settings, and only the process itself can say which.
"""

from __future__ import annotations

import math

import httpx

QUERY = 'max_over_time(cqrs_projector_settings_info{{refresh!=""}}[{w}s])'
"""Only series that carry settings: every process sharing `system/metrics.py` (the api, the
relay) exposes the info metric too, without labels, as it never sets it."""
SCRAPED_BY = ("__name__", "instance", "job")
"""Labels Prometheus adds, which are not settings."""


async def projector_settings(
    prometheus: httpx.AsyncClient, since: float, until: float
) -> list[dict[str, str]]:
    """Every distinct set of settings a projector reported in [since, until] (epoch seconds),
    with the `instance_id` label the native stack scrapes each instance under: one per
    instance, or more if one restarted with other settings mid-run."""
    window = max(1, math.ceil(until - since))
    query: dict[str, str | float] = {"query": QUERY.format(w=window), "time": until}
    r = await prometheus.get("/api/v1/query", params=query)
    r.raise_for_status()
    found = {
        tuple(sorted((k, v) for k, v in item["metric"].items() if k not in SCRAPED_BY))
        for item in r.json()["data"]["result"]
    }
    return [dict(labels) for labels in sorted(found)]
