"""Plots beside the report (matplotlib, Agg), one module per picture; each draws intervals."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from bench.report.plots import conflicts, load_timeseries, ratios, replay, resources, saturation


def render_all(data: Mapping[str, Any], out: Path) -> list[str]:
    """Write every plot the results allow into `out`; returns their file names."""
    out.mkdir(parents=True, exist_ok=True)
    made = [
        replay.replay_curve(data, out),
        conflicts.conflict_rates(data, out),
        *ratios.ratio_plots(data, out),
        *load_timeseries.load_timeseries(data, out),
        saturation.saturation_curve(data, out),
        resources.cpu_timeseries(data, out),
    ]
    return [p.name for p in made if p is not None]
