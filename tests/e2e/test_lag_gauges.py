"""The projector's lag gauges exist per projection and agree with the lag probe's own sampling."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.lag.probe import INTERVAL_S, LagProbe
from system.bootstrap import open_event_store, open_read_store
from system.config import DEFAULT_PROJECTOR_METRICS_PORT, Settings
from system.projections import PROJECTIONS, lag_gauges
from system.projections.runner import group_id

pytestmark = pytest.mark.e2e

METRICS = f"http://127.0.0.1:{DEFAULT_PROJECTOR_METRICS_PORT}/metrics"
GAUGES = {
    "consumer_lag": "cqrs_projection_consumer_lag",
    "position_lag": "cqrs_projection_position_lag",
}
GAUGE_AGE_S = lag_gauges.INTERVAL_S + lag_gauges.TIMEOUT_S + 1.0
"""How old a gauge can be when read: one interval plus its reads, each bounded by the gauges'
timeout, plus 1 s for a reading's own time (two probe intervals plus 1 s was too short on a
slow CI run)."""


async def gauges(client: httpx.AsyncClient) -> dict[str, dict[str, float]]:
    r = await client.get(METRICS)
    r.raise_for_status()
    out: dict[str, dict[str, float]] = {key: {} for key in GAUGES}
    names = {v: k for k, v in GAUGES.items()}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            if s.name in names:
                out[names[s.name]][s.labels["projection"]] = s.value
    return out


async def deposits(api: httpx.AsyncClient, until: float) -> int:
    """Keep the read side busy: deposits into one fresh account, about 40 a second."""
    opened = (await api.post("/accounts", json={"owner_id": "lag-gauges"})).json()
    done = 0
    while time.time() < until:
        path = f"/accounts/{opened['account_id']}/deposits"
        await asyncio.gather(*(api.post(path, json={"amount": 1}) for _ in range(4)))
        done += 4
        await asyncio.sleep(0.1)
    return done


async def test_gauges_per_projection_agree_with_the_probe_within_one_interval(
    settings: Settings,
) -> None:
    probe: LagProbe | None = None
    store = await open_event_store(settings, min_size=1, max_size=2)
    read_store = open_read_store(settings)
    groups = {name: group_id(settings, name) for name in PROJECTIONS}
    readings: list[tuple[float, dict[str, dict[str, float]]]] = []
    probed: list[tuple[float, float, dict[str, dict[str, int]]]] = []
    try:
        async with (
            httpx.AsyncClient(base_url=settings.prometheus_url) as prometheus,
            httpx.AsyncClient(base_url=settings.api_url, timeout=30) as api,
            httpx.AsyncClient(timeout=5) as metrics,
        ):
            probe = LagProbe(
                prometheus, store, read_store, settings.kafka_bootstrap, groups, Path("unused")
            )
            # Sample one gauge age before writing: the first gauges compared then have a
            # window of probe readings as old as they can be.
            quiet_until = time.time() + INTERVAL_S + GAUGE_AGE_S
            writing: asyncio.Task[int] | None = None
            while writing is None or not writing.done():
                if writing is None and time.time() >= quiet_until:
                    writing = asyncio.create_task(deposits(api, time.time() + 8))
                before = time.time()
                consumer, position = await asyncio.gather(
                    probe.consumer_lag(), probe.position_lag()
                )
                lags = {"consumer_lag": consumer, "position_lag": position}
                probed.append((before, time.time(), lags))
                readings.append((time.time(), await gauges(metrics)))
                await asyncio.sleep(0.2)
            assert await writing > 100
    finally:
        if probe is not None and probe._kafka is not None:
            admin, consumer = probe._kafka
            await consumer.stop()
            await admin.close()
        await store.close()
        await read_store.close()
    for _, seen in readings:
        for key in GAUGES:
            assert set(seen[key]) == set(PROJECTIONS), key
    compared, missed, moving = 0, 0, 0
    expected, variance = 0.0, 0.0
    first = probed[0][0]
    for at, seen in readings:
        if at - INTERVAL_S - GAUGE_AGE_S < first:
            continue
        # The gauge read at `at` was sampled at most GAUGE_AGE_S before, by a probe reading
        # that started up to one probe interval earlier still; the probe's next reading comes
        # after that sample, so the window brackets it from both sides.
        after = [start for start, _, _ in probed if start > at][:1]
        until = after[0] if after else at
        window = [p for start, _, p in probed if at - INTERVAL_S - GAUGE_AGE_S <= start <= until]
        for key in GAUGES:
            for name in PROJECTIONS:
                values = [p[key][name] for p in window if name in p[key]]
                if len(values) < 2:
                    continue
                compared += 1
                moving += max(values) > 0
                missed += not min(values) <= seen[key][name] <= max(values)
                # A gauge that samples the same lag as the probe is one more draw among the
                # window's n: it falls outside their range with probability at most 2/(n+1).
                chance = 2 / (len(values) + 1)
                expected += chance
                variance += chance * (1 - chance)
    assert compared >= 40
    assert moving > 0, "the writes never showed as lag: the comparison proved nothing"
    allowed = expected + 4 * math.sqrt(variance)
    assert missed <= allowed, (
        f"{missed} of {compared} gauge readings fell outside the probe's range around them; "
        f"a gauge sampling the same lag would miss about {expected:.1f}, at most {allowed:.1f}"
    )
