"""Compare two runs figure by figure, and say which differences are beyond noise.

The rule: a row matches its counterpart by its parameters (ROW_PARAMS). For each figure,
Δ = contender - baseline. When both rows carry a 95 % interval for the figure (`low`/`high`
or `<figure>_low`/`_high`), the difference is beyond noise only if the two intervals do not
overlap. Without intervals (figures counted once) a relative threshold applies: |Δ| > 10% of
the baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report.constants import ROW_PARAMS, SECTIONS
from bench.report.intervals import Interval
from bench.report.results import load
from bench.report.targets import figure_interval

RELATIVE_NOISE = 0.10

# Per section: the figures compared, each with True when higher is better.
FIGURES: dict[str, dict[str, bool]] = {
    "ceilings": {"value": True},
    "replay": {"events_per_s": True, "seconds": False, "ratio": True},
    "append": {"events_per_s": True, "p99_seconds": False, "ratio": True},
    "conflicts": {"committed_per_s": True, "conflict_rate": False, "p99_seconds": False},
    "projection": {"events_per_s": True, "ratio": True},
    "relay": {"events_per_s": True, "ratio": True},
    "peers": {"ours": True, "theirs": True, "ratio": True},
    "serialization": {"events_per_s": True},
    "load": {"achieved_rps": True, "failures": False},
    "lag": {"p50": False, "p90": False, "p99": False, "max": False},
    "audit": {},
    "targets": {},
    "saturation": {"rate": True},
    "faults": {"recovery_seconds": False},
    "resources": {"cpu_ms_per_request": False, "cpu_ms_per_event": False},
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
    return ", ".join(
        f"{k}={row[k] if row[k] is not None else 'off'}"
        for k in ROW_PARAMS.get(section, ())
        if k in row
    )


def _beyond(delta: float, base: float, a: Interval | None, b: Interval | None) -> bool:
    if a is not None and b is not None and (a.low != a.high or b.low != b.high):
        return a.high < b.low or b.high < a.low
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
                    delta,
                    float(a),
                    figure_interval(section, figure, base),
                    figure_interval(section, figure, row),
                )
                better = ((delta > 0) == higher_better) if beyond else None
                diffs.append(Difference(section, key, figure, float(a), float(b), beyond, better))
    return diffs


def render(diffs: Sequence[Difference], baseline_id: str, contender_id: str) -> str:
    """A Markdown table of the differences, beyond-noise ones flagged in words."""
    lines = [
        f"# {contender_id} compared with {baseline_id}",
        "",
        "Beyond noise: the two runs' 95% intervals do not overlap, or, for figures measured"
        f" once (no interval), |change| > {RELATIVE_NOISE:.0%} of the baseline.",
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


def compare_files(baseline: Path, contender: Path) -> str:
    """The Markdown comparison of two run directories (or their results.json files).

    Raises ResultsInvalid or OSError when either cannot be read.
    """
    a, b = load(baseline), load(contender)
    return render(compare(a.to_dict(), b.to_dict()), a.run_id, b.run_id)
