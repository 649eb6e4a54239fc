"""The README's figures, generated from the committed reference runs (reports/reference/*/).

The README holds blocks between `<!-- figures:NAME -->` and `<!-- /figures:NAME -->`; each is
rendered here from the reference runs' results.json, with the command and the environment that
produced it, so no figure in the README is typed by hand. `cqrs-bench readme --check` fails when
the README differs from what the reference runs say (CI runs it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report.capacity import DEFAULT_LAYOUTS, NO_RESOURCES, run_lines
from bench.report.cpu_probe import describe
from bench.report.results import load

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
REFERENCE = ROOT / "reports" / "reference"
BLOCK = re.compile(
    r"(<!-- figures:(?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /figures:(?P=name) -->)", re.S
)

Run = Mapping[str, Any]


class ReadmeError(ValueError):
    """The README or the reference runs cannot produce the figures; the message says why."""


@dataclass(frozen=True)
class Reference:
    """One committed reference run: its directory name and its results."""

    name: str
    data: Run

    @property
    def command(self) -> str:
        """The command that produced the run, rebuilt from its configuration."""
        config = self.data["config"]
        if "load" in self.data:
            return (
                f"cqrs-bench load --scenario {config['scenario']} --rate {config['rate']:g}"
                f" --duration {config['duration_s']:g} --warmup {config['warmup_s']:g}"
            )
        return f"cqrs-bench micro --suite {self.data['suite']}"


def references(root: Path = REFERENCE) -> list[Reference]:
    """Every reference run under `root`, by directory name."""
    return [
        Reference(path.parent.name, load(path).to_dict())
        for path in sorted(root.glob("*/results.json"))
    ]


def _num(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _ms(x: float) -> str:
    return f"{x * 1e3:.0f} ms" if x >= 0.01 else f"{x * 1e3:.1f} ms"


def _interval(value: float, low: Any, high: Any, fmt: Callable[[float], str] = _num) -> str:
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low != high:
        return f"{fmt(value)} ({fmt(low)} to {fmt(high)})"
    return fmt(value)


def _environment(refs: Sequence[Reference]) -> str:
    env = refs[0].data["environment"]
    services = env["services"]
    versions = ", ".join(
        f"{name} {str(services[name]).split(' (')[0].removeprefix('elasticsearch ')}"
        for name in ("postgres", "kafka", "elasticsearch")
        if services.get(name)
    )
    revision = (env.get("git_revision") or "unknown")[:7]
    return (
        f"Reference runs at revision `{revision}` ({', '.join(r.name for r in refs)} in"
        f" [reports/reference/](reports/reference/)): {env['cpu']}, {env['cores']} cores,"
        f" {env['memory'] / 2**30:.0f} GiB, {versions}; fsync on, a shared and noisy machine."
        " Every figure is the median of its rounds with its 95% interval in brackets; ratios are"
        " to ceilings or peers measured in the same run."
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows),
    ]


def targets_block(refs: Sequence[Reference]) -> list[str]:
    """Every target of the reference runs with its verdict and interval."""
    rows = []
    for ref in refs:
        for t in ref.data.get("targets", []):
            op = t.get("op", ">=")
            threshold = _num(t["threshold"]) + (
                f" ± {_num(t['tolerance'])}" if op == "within" else ""
            )
            rows.append(
                [
                    f"{t['name']}: {t['goal']}" if t.get("goal") else t["name"],
                    _interval(t["value"], t["low"], t["high"]),
                    f"{op} {threshold}",
                    f"**{t['verdict']}**",
                ]
            )
    if not rows:
        return ["No reference run states targets yet."]
    commands = sorted({f"`{r.command}`" for r in refs if r.data.get("targets")})
    return [
        *_table(["target", "measured (95% interval)", "threshold", "verdict"], rows),
        "",
        f"Produced by {', '.join(commands)}.",
    ]


def environment_block(refs: Sequence[Reference]) -> list[str]:
    """Where and how the reference runs were measured, one line per run with its command and,
    when it recorded one, the machine's speed (bench/report/cpu_probe.py)."""
    return [
        _environment(refs),
        "",
        *(f"- `{ref.name}`: `{ref.command}`{_probe(ref)}" for ref in refs),
    ]


def _probe(ref: Reference) -> str:
    probe = ref.data["environment"].get("cpu_probe")
    return f"; {describe(probe)}" if probe else ""


def _stage(lag: Sequence[Run], stage: str, key: str) -> str:
    values = [r[key] for r in lag if r["stage"] == stage]
    if not values:
        return "-"
    low, high = min(values), max(values)
    return _ms(low) if low == high else f"{_ms(low)} to {_ms(high)}"


def load_block(refs: Sequence[Reference]) -> list[str]:
    """Each reference load run: rate, corrected latency, lag by stage, audit, validity."""
    lines: list[str] = []
    for ref in refs:
        if "load" not in ref.data:
            continue
        audit = ref.data.get("audit", [])
        passed = sum(1 for c in audit if c["passed"])
        for row in ref.data["load"]:
            corrected = row.get("corrected") or row["latency_seconds"]
            lines += [
                f"`{ref.command}`: achieved {row['achieved_rps']:.1f} of"
                f" {row['target_rps'] or 0:g} req/s, {row['requests']:,} requests,"
                f" {row['failures']} failures, {row.get('unsent', 0)} unsent;"
                f" corrected p50 {_ms(corrected['p50'])}, p99 {_ms(corrected['p99'])}"
                f" (raw p99 {_ms(row['latency_seconds']['p99'])}); audit {passed} of"
                f" {len(audit)} checks passed.",
                "",
            ]
        lag = ref.data.get("lag", [])
        stages = list(dict.fromkeys(r["stage"] for r in lag))
        if stages:
            lines += [
                "Lag by stage (range over the projections):",
                "",
                *_table(
                    ["stage", "p50", "p99", "max"],
                    [[s, *(_stage(lag, s, k) for k in ("p50", "p99", "max"))] for s in stages],
                ),
                "",
            ]
    return lines[:-1] if lines else ["No reference load run yet."]


def _rows(refs: Sequence[Reference], section: str) -> list[Run]:
    return [row for ref in refs for row in ref.data.get(section, [])]


def peers_block(refs: Sequence[Reference]) -> list[str]:
    """Ours over each peer, per workload, with the ratio's interval."""
    rows = [
        [
            r["peer"],
            r["workload"] + (f" at {r['concurrency']}" if r.get("concurrency") else ""),
            f"{_num(r['ours'])} vs {_num(r['theirs'])} {r['unit']}",
            _interval(r["ratio"], r.get("low"), r.get("high"), lambda x: f"{x:.2f}x"),
        ]
        for r in _rows(refs, "peers")
    ]
    if not rows:
        return ["No reference run measured the peers yet."]
    return _table(["peer", "workload", "ours vs theirs", "ours / theirs (95% interval)"], rows)


def ceilings_block(refs: Sequence[Reference]) -> list[str]:
    """Every same-run ceiling with the work it does."""
    rows = [
        [
            r["name"],
            r.get("work", "-"),
            _interval(r["value"], r.get("low"), r.get("high")),
            r["unit"],
        ]
        for r in _rows(refs, "ceilings")
    ]
    if not rows:
        return ["No reference run measured ceilings yet."]
    return _table(["ceiling", "work", "value (95% interval)", "unit"], rows)


def serialization_block(refs: Sequence[Reference]) -> list[str]:
    """Encode + decode per event for each codec."""
    rows = [
        [
            r["codec"],
            _interval(r["events_per_s"], r.get("low"), r.get("high")),
            f"{r['seconds_per_event'] * 1e6:.2f} µs",
        ]
        for r in _rows(refs, "serialization")
    ]
    if not rows:
        return ["No reference run measured serialization yet."]
    return _table(["codec", "events/s (95% interval)", "encode + decode per event"], rows)


def stack_block(refs: Sequence[Reference]) -> list[str]:
    """Each service's resident memory at the end of each reference run."""
    runs = [r for r in refs if r.data["environment"].get("services_rss")]
    if not runs:
        return ["No reference run recorded the services' memory yet."]
    names = list(dict.fromkeys(n for r in runs for n in r.data["environment"]["services_rss"]))
    rows = [
        [
            name,
            *(
                f"{r.data['environment']['services_rss'].get(name, 0) / 2**20:,.0f} MiB"
                for r in runs
            ),
        ]
        for name in names
    ]
    totals = [sum(r.data["environment"]["services_rss"].values()) / 2**30 for r in runs]
    rows.append(["**whole stack**", *(f"**{t:.2f} GiB**" for t in totals)])
    header = ["service", *(f"RSS after `{r.name}`" for r in runs)]
    return [
        *_table(header, rows),
        "",
        "RSS counts each process and its children when the run finished (PostgreSQL's sum grows"
        " under load because each backend counts the shared buffers it touched).",
    ]


def capacity_block(refs: Sequence[Reference]) -> list[str]:
    """The capacity model (bench/report/capacity.py) from the reference load run's CPU."""
    runs = [r for r in refs if "load" in r.data]
    if not runs:
        return ["No reference load run yet."]
    lines = run_lines(runs[0].data, DEFAULT_LAYOUTS)
    return lines if lines == [NO_RESOURCES] else [*lines, "", "How to read it: docs/scale-out.md."]


BLOCKS: dict[str, Callable[[Sequence[Reference]], list[str]]] = {
    "environment": environment_block,
    "stack": stack_block,
    "targets": targets_block,
    "load": load_block,
    "capacity": capacity_block,
    "peers": peers_block,
    "ceilings": ceilings_block,
    "serialization": serialization_block,
}
"""Each README block's name and how it is rendered."""


def render(readme: str, refs: Sequence[Reference]) -> str:
    """The README with every generated block rewritten from `refs`."""
    if not refs:
        raise ReadmeError(f"no reference run under {REFERENCE} (results.json)")
    seen: set[str] = set()

    def block(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in BLOCKS:
            known = ", ".join(BLOCKS)
            raise ReadmeError(f"README block figures:{name} is unknown (known: {known})")
        seen.add(name)
        body = "\n".join(BLOCKS[name](refs))
        return f"{match.group(1)}{body}\n{match.group(4)}"

    out = BLOCK.sub(block, readme)
    missing = sorted(set(BLOCKS) - seen)
    if missing:
        raise ReadmeError(f"README has no <!-- figures:{missing[0]} --> block")
    return out
