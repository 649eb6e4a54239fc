"""Targets as data (the `[[targets]]` of a suite file), judged from each figure's interval.

A target names a section, the row(s) it applies to (`where`), a figure, an operator and a
threshold. Its verdict comes from the figure's 95 % interval, never from the point estimate:

- `>=`: MET when `low >= threshold`, MISSED when `high < threshold`, else INCONCLUSIVE;
- `<=`: MET when `high <= threshold`, MISSED when `low > threshold`, else INCONCLUSIVE;
- `within` (with `tolerance`): MET when the whole interval lies in threshold ± tolerance,
  MISSED when it lies wholly outside, else INCONCLUSIVE.

With `max_halfwidth`, an interval wider than ± that fraction of the value is INCONCLUSIVE
whatever side it is on: the run could not measure the figure well enough to judge it.
A figure measured from paired rounds carries `<figure>_trend_z` (e.g. `ratio_trend_z`, the
Mann-Kendall z of its per-pair ratios in run order): beyond ±`TREND_Z` the comparison drifted
through the run, and the target is INCONCLUSIVE whatever its interval says.
With `over`, the figure is the quotient of two rows' figures (e.g. the rehydrate time of a long
stream over a short one), its interval the conservative corners of both intervals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.report.constants import MAIN_FIGURE, ROW_PARAMS, SECTIONS
from bench.report.intervals import TREND_Z, Interval, quotient

Op = Literal[">=", "<=", "within"]
Verdict = Literal["MET", "MISSED", "INCONCLUSIVE"]
OPS: tuple[Op, ...] = (">=", "<=", "within")
OFF = "off"
"""How a suite file writes a null parameter (TOML has no null), e.g. `snapshot_every = "off"`."""


class TargetError(ValueError):
    """A target in a suite file is malformed; the message names the key."""


@dataclass(frozen=True)
class TargetSpec:
    """One target as the suite file states it."""

    name: str
    goal: str
    section: str
    figure: str
    op: Op
    threshold: float
    where: dict[str, Any] = field(default_factory=dict)
    over: dict[str, Any] | None = None
    tolerance: float = 0.0
    max_halfwidth: float | None = None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TargetError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TargetError(f"{where}: expected a table like {{ events = 10000 }}, got {value!r}")
    return dict(value)


KEYS = {
    "name",
    "goal",
    "section",
    "figure",
    "op",
    "threshold",
    "where",
    "over",
    "tolerance",
    "max_halfwidth",
}


def parse_specs(data: Any, source: str) -> list[TargetSpec]:
    """Validate the `[[targets]]` array of a suite file."""
    if not isinstance(data, list):
        raise TargetError(f"{source}.targets: expected an array of tables ([[targets]])")
    specs: list[TargetSpec] = []
    for i, item in enumerate(data):
        at = f"{source}.targets[{i}]"
        item = _table(item, at)
        unknown = sorted(set(item) - KEYS)
        if unknown:
            raise TargetError(f"{at}.{unknown[0]}: unknown key (known: {', '.join(sorted(KEYS))})")
        for key in ("name", "goal", "section", "figure", "op", "threshold"):
            if key not in item:
                raise TargetError(f"{at}.{key}: missing")
        if item["section"] not in SECTIONS:
            raise TargetError(f"{at}.section: {item['section']!r} is not one of {SECTIONS}")
        if item["op"] not in OPS:
            raise TargetError(f"{at}.op: {item['op']!r} is not one of {', '.join(OPS)}")
        if item["op"] == "within" and "tolerance" not in item:
            raise TargetError(f"{at}.tolerance: missing (op 'within' needs it)")
        for key in ("name", "goal", "figure"):
            if not isinstance(item[key], str) or not item[key]:
                raise TargetError(f"{at}.{key}: expected a non-empty string")
        max_halfwidth = item.get("max_halfwidth")
        specs.append(
            TargetSpec(
                name=item["name"],
                goal=item["goal"],
                section=item["section"],
                figure=item["figure"],
                op=item["op"],
                threshold=_number(item["threshold"], f"{at}.threshold"),
                where=_table(item.get("where", {}), f"{at}.where"),
                over=_table(item["over"], f"{at}.over") if "over" in item else None,
                tolerance=_number(item.get("tolerance", 0.0), f"{at}.tolerance"),
                max_halfwidth=None
                if max_halfwidth is None
                else _number(max_halfwidth, f"{at}.max_halfwidth"),
            )
        )
    return specs


def _matches(row: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    return all(row.get(k) == (None if v == OFF else v) for k, v in where.items())


def figure_interval(section: str, figure: str, row: Mapping[str, Any]) -> Interval | None:
    """The row's figure with its interval: `<figure>_low/_high`, or `low/high` for the section's
    main figure; None when the row carries no interval for it."""
    value = row.get(figure)
    if not isinstance(value, (int, float)):
        return None
    for low_key, high_key in ((f"{figure}_low", f"{figure}_high"), ("low", "high")):
        if low_key == "low" and MAIN_FIGURE.get(section) != figure:
            continue
        low, high = row.get(low_key), row.get(high_key)
        if isinstance(low, (int, float)) and isinstance(high, (int, float)):
            return Interval(float(value), float(low), float(high))
    return None


def figure_trend_z(figure: str, rows: Sequence[Mapping[str, Any] | None]) -> float | None:
    """The `<figure>_trend_z` of `rows` farthest from 0, None when none carries one."""
    found = [
        float(z)
        for row in rows
        if row is not None and isinstance(z := row.get(f"{figure}_trend_z"), (int, float))
    ]
    return max(found, key=abs) if found else None


def judge(
    spec: TargetSpec, interval: Interval, trend_z: float | None = None
) -> tuple[Verdict, str]:
    """The verdict of one interval against a target, and why; a `trend_z` beyond ±`TREND_Z`
    (the paired rounds drifted through the run) makes it INCONCLUSIVE."""
    t, tol = spec.threshold, spec.tolerance
    if trend_z is not None and abs(trend_z) > TREND_Z:
        return (
            "INCONCLUSIVE",
            f"the paired rounds trended through the run (Mann-Kendall z = {trend_z:.2f},"
            f" |z| > {TREND_Z})",
        )
    if spec.max_halfwidth is not None and interval.relative_halfwidth > spec.max_halfwidth:
        return (
            "INCONCLUSIVE",
            f"interval ±{interval.relative_halfwidth:.0%} is wider than"
            f" ±{spec.max_halfwidth:.0%}: not measured well enough to judge",
        )
    if spec.op == ">=":
        met, missed = interval.low >= t, interval.high < t
    elif spec.op == "<=":
        met, missed = interval.high <= t, interval.low > t
    else:
        met = t - tol <= interval.low and interval.high <= t + tol
        missed = interval.high < t - tol or interval.low > t + tol
    if met:
        return "MET", "the whole interval meets the threshold"
    if missed:
        return "MISSED", "the whole interval misses the threshold"
    return "INCONCLUSIVE", "the interval straddles the threshold"


def _label(section: str, row: Mapping[str, Any], where: Mapping[str, Any]) -> str:
    params = [
        f"{k}={row.get(k) if row.get(k) is not None else OFF}"
        for k in ROW_PARAMS.get(section, ())
        if k not in where and k in row
    ]
    return f" ({', '.join(params)})" if params else ""


def evaluate(
    specs: Sequence[TargetSpec], sections: Mapping[str, Sequence[Mapping[str, Any]]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """`targets` rows for every row a spec applies to, and a note per target not measured."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for spec in specs:
        candidates = [r for r in sections.get(spec.section, []) if _matches(r, spec.where)]
        judged = 0
        for row in candidates:
            interval = figure_interval(spec.section, spec.figure, row)
            over = None
            if interval is not None and spec.over is not None:
                over = next(
                    (r for r in sections.get(spec.section, []) if _matches(r, spec.over)), None
                )
                below = None if over is None else figure_interval(spec.section, spec.figure, over)
                interval = None if below is None else quotient(interval, below)
            if interval is None:
                continue
            verdict, reason = judge(spec, interval, figure_trend_z(spec.figure, [row, over]))
            target: dict[str, Any] = {
                "name": spec.name + _label(spec.section, row, spec.where),
                "goal": spec.goal,
                "verdict": verdict,
                "value": interval.value,
                "low": interval.low,
                "high": interval.high,
                "threshold": spec.threshold,
                "op": spec.op,
                "reason": reason,
            }
            if spec.op == "within":
                target["tolerance"] = spec.tolerance
            rows.append(target)
            judged += 1
        if not judged:
            notes.append(
                f"target {spec.name!r} not measured: no {spec.section} row with an interval"
            )
    return rows, notes
