"""Compare two runs figure by figure, and say which differences are beyond noise.

The rule: a row matches its counterpart by its parameters (every non-figure field). For each
figure, Δ = contender - baseline. When both rows carry a `spread` (the standard deviation of
the row's main figure over the measured rounds, in the figure's unit) the difference of that
figure is beyond noise if |Δ| > 2 · max(spread_a, spread_b). Without spreads (e.g. figures
counted once) a relative threshold applies: |Δ| > 10% of the baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.report.constants import SECTIONS

RELATIVE_NOISE = 0.10
SPREAD_FACTOR = 2.0

# Per section: the figures compared, each with True when higher is better.
FIGURES: dict[str, dict[str, bool]] = {
    "ceilings": {"value": True},
    "replay": {"events_per_s": True, "seconds": False, "ratio": True},
    "append": {"events_per_s": True, "p99_seconds": False, "ratio": True},
    "conflicts": {"committed_per_s": True, "conflict_rate": False, "p99_seconds": False},
    "projection": {"events_per_s": True, "ratio": True},
    "peers": {"ours": True, "theirs": True, "ratio": True},
    "serialization": {"events_per_s": True},
    "load": {"achieved_rps": True, "failures": False},
    "lag": {"p50": False, "p90": False, "p99": False, "max": False},
    "audit": {},
}
MAIN = {
    "ceilings": "value",
    "replay": "events_per_s",
    "append": "events_per_s",
    "conflicts": "committed_per_s",
    "projection": "events_per_s",
    "serialization": "events_per_s",
}
_NOT_KEYS = {
    "spread",
    "ceiling",
    "fetch_seconds",
    "decode_fold_seconds",
    "events_per_s",
    "predicted_conflict_rate",
    "attempts",
    "conflicts",
    "duration_s",
    "requests",
    "latency_seconds",
    "corrected",
    "detail",
    "seconds",
    "unit",
    "target_rps",
    "seconds_per_event",
}


@dataclass(frozen=True)
class Difference:
    section: str
    key: str
    figure: str
    baseline: float
    contender: float
    beyond_noise: bool
    better: bool | None
    """None when the difference is within noise."""

    @property
    def relative(self) -> float | None:
        return None if self.baseline == 0 else (self.contender - self.baseline) / self.baseline


def _key(section: str, row: Mapping[str, Any]) -> str:
    figures = set(FIGURES[section])
    parts = [
        f"{k}={v if v is not None else 'off'}"
        for k, v in row.items()
        if k not in figures and k not in _NOT_KEYS and not isinstance(v, (dict, list))
    ]
    return ", ".join(parts)


def _spread(section: str, figure: str, row: Mapping[str, Any]) -> float | None:
    if MAIN.get(section) != figure:
        return None
    value = row.get("spread")
    return float(value) if isinstance(value, (int, float)) else None


def _beyond(delta: float, base: float, sa: float | None, sb: float | None) -> bool:
    if sa is not None and sb is not None:
        return abs(delta) > SPREAD_FACTOR * max(sa, sb)
    return abs(delta) > RELATIVE_NOISE * abs(base)


def compare(baseline: Mapping[str, Any], contender: Mapping[str, Any]) -> list[Difference]:
    """Every figure present in both runs, with its difference and whether it is beyond noise."""
    diffs: list[Difference] = []
    for section in SECTIONS:
        base_rows = {_key(section, r): r for r in baseline.get(section) or []}
        for row in contender.get(section) or []:
            key = _key(section, row)
            base = base_rows.get(key)
            if base is None:
                continue
            for figure, higher_better in FIGURES[section].items():
                a, b = base.get(figure), row.get(figure)
                if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
                    continue
                delta = float(b) - float(a)
                beyond = _beyond(
                    delta, float(a), _spread(section, figure, base), _spread(section, figure, row)
                )
                better = ((delta > 0) == higher_better) if beyond else None
                diffs.append(Difference(section, key, figure, float(a), float(b), beyond, better))
    return diffs


def render(diffs: Sequence[Difference], baseline_id: str, contender_id: str) -> str:
    """A Markdown table of the differences, beyond-noise ones flagged in words."""
    lines = [
        f"# {contender_id} compared with {baseline_id}",
        "",
        f"Beyond noise: |Δ| > {SPREAD_FACTOR:g} x the larger spread of the two runs, or > "
        f"{RELATIVE_NOISE:.0%} of the baseline where no spread was measured.",
        "",
        "| section | row | figure | baseline | contender | change | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for d in diffs:
        rel = "-" if d.relative is None else f"{d.relative:+.1%}"
        verdict = "within noise" if not d.beyond_noise else ("better" if d.better else "worse")
        lines.append(
            f"| {d.section} | {d.key} | {d.figure} | {d.baseline:.4g} | {d.contender:.4g} "
            f"| {rel} | {verdict} |"
        )
    changed = sum(d.beyond_noise for d in diffs)
    lines += ["", f"{changed} of {len(diffs)} figures changed beyond noise."]
    return "\n".join(lines)
