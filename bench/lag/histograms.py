"""Lag percentiles from the services' Prometheus histograms: the fallback without lag records.

With `CQRS_LAG_STAMPS=off` projectors write no lag records, so the report estimates each
stage from how the histograms grew over the measured window (`increase` over the window,
then `histogram_quantile`). Approximate: a quantile is interpolated inside its bucket (the
buckets of `system/metrics.py` are 1-2.5x apart), `max` is the bound of the highest bucket
used, and events are counted when observed, not by commit time. Stages the projector cannot
see (relay, kafka) come from the relay's histogram as one row for all projections.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

from bench.report.constants import LAG_KEYS, STAMPED_STAGES, LagStage

SCRAPE_SLACK_S = 2.0
"""Evaluated this long after the window's end, so the last scrape (1 s interval) is in."""
PROJECTOR_STAGES = (LagStage.INDEX, LagStage.REFRESH, LagStage.END_TO_END)
"""The stages of the projector's histogram that are lag stages as they are (its `delivery` spans
relay and kafka; the relay's own histogram gives the relay stage)."""
PROJECTION_QUERY = (
    "histogram_quantile({q}, sum by (projection, stage, le)"
    ' (increase(cqrs_projection_lag_seconds_bucket{{stage=~"{stages}"}}[{w}s])))'
)
RELAY_QUERY = "histogram_quantile({q}, sum by (le) (increase(cqrs_relay_lag_seconds_bucket[{w}s])))"
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}
ALL_PROJECTIONS = "all"
"""The `projection` of the relay row: the relay's histogram does not know projections."""


async def _quantiles(
    prometheus: httpx.AsyncClient, query: str, at: float
) -> dict[tuple[str, str], float]:
    r = await prometheus.get("/api/v1/query", params={"query": query, "time": at})
    r.raise_for_status()
    out: dict[tuple[str, str], float] = {}
    for item in r.json()["data"]["result"]:
        value = float(item["value"][1])
        if math.isfinite(value):
            metric = item["metric"]
            key = (metric.get("projection", ALL_PROJECTIONS), metric.get("stage", LagStage.RELAY))
            out[key] = value
    return out


async def histogram_rows(
    prometheus: httpx.AsyncClient, since: float, until: float
) -> list[dict[str, Any]]:
    """`lag` rows (source `histogram`) for the window [since, until] (epoch seconds)."""
    at = until + SCRAPE_SLACK_S
    window = max(1, math.ceil(at - since))
    stages = "|".join(PROJECTOR_STAGES)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for key in LAG_KEYS:
        q = QUANTILES[key]
        found = await _quantiles(
            prometheus, PROJECTION_QUERY.format(q=q, w=window, stages=stages), at
        )
        found.update(await _quantiles(prometheus, RELAY_QUERY.format(q=q, w=window), at))
        for (projection, stage), value in found.items():
            row = rows.setdefault(
                (projection, stage),
                {"projection": projection, "stage": stage, "source": "histogram"},
            )
            row[key] = value
    complete = [r for r in rows.values() if all(k in r for k in LAG_KEYS)]
    return sorted(complete, key=lambda r: (r["projection"], STAMPED_STAGES.index(r["stage"])))
