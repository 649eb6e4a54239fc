"""Per-second series of a load run (`timeseries.json`), from the raw data its figures come from.

The load figures come from `samples-*.jsonl` and `unsent-*.json`, the lag figures from the
projectors' lag records (`EventStamps`), the peak lags from `lag-probe.jsonl`: the series here
are the same data cut into seconds, so every picture agrees with its figure. Seconds count from
`t0`, the first intended start of the run (warm-up included). A second without a sample holds
null. Per-second percentiles are nearest-rank over that second's values (no interval: one
second holds too few values for one to mean much); rates are counts per second.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from bench.lag.probe import LagSample
from bench.lag.stamps import STAGES, EventStamps, quantile
from bench.load.pacing import Unsent
from bench.load.samples import Sample
from bench.report.constants import LagStage

PROBE_FILE = "lag-probe.jsonl"


def _second(t: float, t0: float) -> int:
    return math.floor(t - t0)


def _percentiles(buckets: dict[int, list[float]], n: int, q: float) -> list[float | None]:
    return [quantile(sorted(buckets[i]), q) if buckets.get(i) else None for i in range(n)]


def _counts(seconds: Iterable[int], n: int) -> list[int]:
    out = [0] * n
    for i in seconds:
        if 0 <= i < n:
            out[i] += 1
    return out


def _lag_series(stamps: Sequence[EventStamps], t0: float, n: int) -> dict[str, Any]:
    """projection → stage → {p50, p99} per second of the events' origin (commit) time."""
    by_second: dict[tuple[str, LagStage], dict[int, list[float]]]
    by_second = defaultdict(lambda: defaultdict(list))
    for s in stamps:
        second = _second(s.origin, t0)
        for stage, (start, end) in STAGES.items():
            a, b = getattr(s, start), getattr(s, end)
            if a is not None and b is not None:
                by_second[s.projection, stage][second].append(max(b - a, 0.0))
    out: dict[str, Any] = {}
    order = list(STAGES)
    for projection, stage in sorted(by_second, key=lambda k: (k[0], order.index(k[1]))):
        buckets = by_second[projection, stage]
        out.setdefault(projection, {})[stage] = {
            "p50": _percentiles(buckets, n, 0.5),
            "p99": _percentiles(buckets, n, 0.99),
        }
    return out


def read_probe(path: Path) -> list[LagSample]:
    """The probe's readings (none when the file is missing)."""
    if not path.exists():
        return []
    decoder = msgspec.json.Decoder(LagSample)
    return [decoder.decode(line) for line in path.read_bytes().splitlines() if line.strip()]


def _probe_series(probe: Sequence[LagSample], t0: float) -> dict[str, Any]:
    names = sorted({k for p in probe for k in (*p.consumer_lag, *p.position_lag)})
    return {
        "t": [round(p.t - t0, 3) for p in probe],
        "consumer_lag": {k: [p.consumer_lag.get(k) for p in probe] for k in names},
        "position_lag": {k: [p.position_lag.get(k) for p in probe] for k in names},
        "stage_p99": {
            k: [p.stage_p99.get(k) for p in probe]
            for k in sorted({k for p in probe for k in p.stage_p99})
        },
    }


def build(
    samples: Sequence[Sample],
    unsent: Sequence[Unsent],
    stamps: Sequence[EventStamps],
    probe: Sequence[LagSample],
    *,
    open_model: bool,
) -> dict[str, Any]:
    """The run's per-second series (see the module docstring); empty when nothing was sent."""
    requests = [s for s in samples if s.request != LagStage.VISIBILITY]
    if not requests:
        return {}
    t0 = math.floor(min(s.intended for s in requests))
    never_sent = [t for u in unsent for t in u.intended]
    end = max([s.finished for s in requests] + never_sent)
    n = _second(end, t0) + 1
    raw: dict[int, list[float]] = defaultdict(list)
    corrected: dict[int, list[float]] = defaultdict(list)
    for s in requests:
        raw[_second(s.intended, t0)].append(s.latency)
        corrected[_second(s.intended, t0)].append(s.corrected)
    measured = [s.intended for s in requests if s.phase == "measured"]
    target = None
    if open_model:
        target = _counts((_second(t, t0) for t in [s.intended for s in requests] + never_sent), n)
    return {
        "t0": t0,
        "seconds": list(range(n)),
        "warmup_end": round(min(measured) - t0, 3) if measured else None,
        "target_rps": target,
        "achieved_rps": _counts((_second(s.sent, t0) for s in requests), n),
        "failures": _counts((_second(s.sent, t0) for s in requests if s.outcome == "error"), n),
        "latency": {
            "p50": _percentiles(raw, n, 0.5),
            "p99": _percentiles(raw, n, 0.99),
            "corrected_p50": _percentiles(corrected, n, 0.5),
            "corrected_p99": _percentiles(corrected, n, 0.99),
        },
        "lag": _lag_series(stamps, t0, n),
        "probe": _probe_series(probe, t0),
    }
