"""The README's figures, generated from the committed reference runs (reports/reference/*/).

The README holds blocks between `<!-- figures:NAME -->` and `<!-- /figures:NAME -->`; each is
rendered here from the reference runs' results.json, with the command and the environment that
produced it, so no figure in the README is typed by hand. `cqrs-bench readme --check` fails when
the README differs from what the reference runs say (CI runs it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bench.report.capacity import DEFAULT_LAYOUTS, NO_RESOURCES, run_lines
from bench.report.cpu_probe import describe
from bench.report.environment_table import nice_text
from bench.report.readme_saturation import saturation_block
from bench.report.reference_runs import (
    REFERENCE,
    ROOT,
    Reference,
    Run,
    interval,
    limit_step,
    ms,
    num,
    table,
)

README = ROOT / "README.md"
BLOCK = re.compile(
    r"(<!-- figures:(?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /figures:(?P=name) -->)", re.S
)


class ReadmeError(ValueError):
    """The README or the reference runs cannot produce the figures; the message says why."""


def _revision(ref: Reference) -> str:
    return str(ref.data["environment"].get("git_revision") or "unknown")[:7]


def _machine(ref: Reference) -> str:
    env = ref.data["environment"]
    services = env["services"]
    versions = ", ".join(
        f"{name} {str(services[name]).split(' (')[0].removeprefix('elasticsearch ')}"
        for name in ("postgres", "kafka", "elasticsearch")
        if services.get(name)
    )
    return f"{env['cpu']}, {env['cores']} cores, {env['memory'] / 2**30:.0f} GiB, {versions}"


def _environment(refs: Sequence[Reference]) -> str:
    revisions = sorted({_revision(r) for r in refs})
    machines = sorted({_machine(r) for r in refs})
    at = (
        f"revision `{revisions[0]}`"
        if len(revisions) == 1
        else "revisions " + ", ".join(f"`{r}`" for r in revisions) + " (each run's below)"
    )
    on = machines[0] if len(machines) == 1 else "different machines (each run's below)"
    priorities = sorted(
        {nice_text(n) for r in refs if (n := r.data["environment"].get("services_nice"))}
    )
    priority = f"; CPU priority {' / '.join(priorities)}" if priorities else ""
    return (
        f"Reference runs at {at} ({', '.join(r.name for r in refs)} in"
        f" [reports/reference/](reports/reference/)): {on}{priority}; fsync on, a shared and noisy"
        " machine. Every figure is the median of its rounds with its 95% interval in brackets;"
        " ratios are to ceilings or peers measured in the same run."
    )


def targets_block(refs: Sequence[Reference]) -> list[str]:
    """Every target of the reference runs with its verdict and interval."""
    rows = []
    for ref in refs:
        for t in ref.data.get("targets", []):
            op = t.get("op", ">=")
            threshold = num(t["threshold"]) + (
                f" ± {num(t['tolerance'])}" if op == "within" else ""
            )
            rows.append(
                [
                    f"{t['name']}: {t['goal']}" if t.get("goal") else t["name"],
                    interval(t["value"], t["low"], t["high"]),
                    f"{op} {threshold}",
                    f"**{t['verdict']}**",
                ]
            )
    if not rows:
        return ["No reference run states targets yet."]
    commands = sorted({f"`{r.command}`" for r in refs if r.data.get("targets")})
    return [
        *table(["target", "measured (95% interval)", "threshold", "verdict"], rows),
        "",
        f"Produced by {', '.join(commands)}.",
    ]


def environment_block(refs: Sequence[Reference]) -> list[str]:
    """Where and how the reference runs were measured, one line per run with its command and,
    when it recorded one, the machine's speed (bench/report/cpu_probe.py)."""
    return [
        _environment(refs),
        "",
        *(f"- `{ref.name}`{_at(ref, refs)}: `{ref.command}`{_probe(ref)}" for ref in refs),
    ]


def _at(ref: Reference, refs: Sequence[Reference]) -> str:
    """The run's revision and machine, where the reference runs differ in them."""
    differ = []
    if len({_revision(r) for r in refs}) > 1:
        differ.append(f"`{_revision(ref)}`")
    if len({_machine(r) for r in refs}) > 1:
        differ.append(_machine(ref))
    return f" ({'; '.join(differ)})" if differ else ""


def _probe(ref: Reference) -> str:
    probe = ref.data["environment"].get("cpu_probe")
    if probe:
        return f"; {describe(probe)}"
    idle = [
        s[key]
        for s in ref.data.get("saturation", [])
        for key in ("idle_ms_before", "idle_ms_after")
        if s.get(key) is not None
    ]
    if idle:
        return f"; CPU probe around each step: idle {min(idle):.1f} to {max(idle):.1f} ms"
    return ""


def _stage(lag: Sequence[Run], stage: str, key: str) -> str:
    values = [r[key] for r in lag if r["stage"] == stage]
    if not values:
        return "-"
    low, high = min(values), max(values)
    return ms(low) if low == high else f"{ms(low)} to {ms(high)}"


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
                f" corrected p50 {ms(corrected['p50'])}, p99 {ms(corrected['p99'])}"
                f" (raw p99 {ms(row['latency_seconds']['p99'])}); audit {passed} of"
                f" {len(audit)} checks passed.",
                "",
            ]
        lag = ref.data.get("lag", [])
        stages = list(dict.fromkeys(r["stage"] for r in lag))
        if stages:
            lines += [
                "Lag by stage (range over the projections):",
                "",
                *table(
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
            f"{num(r['ours'])} vs {num(r['theirs'])} {r['unit']}",
            interval(r["ratio"], r.get("low"), r.get("high"), lambda x: f"{x:.2f}x"),
        ]
        for r in _rows(refs, "peers")
    ]
    if not rows:
        return ["No reference run measured the peers yet."]
    return table(["peer", "workload", "ours vs theirs", "ours / theirs (95% interval)"], rows)


def ceilings_block(refs: Sequence[Reference]) -> list[str]:
    """Every same-run ceiling with the work it does."""
    rows = [
        [
            r["name"],
            r.get("work", "-"),
            interval(r["value"], r.get("low"), r.get("high")),
            r["unit"],
        ]
        for r in _rows(refs, "ceilings")
    ]
    if not rows:
        return ["No reference run measured ceilings yet."]
    return table(["ceiling", "work", "value (95% interval)", "unit"], rows)


def serialization_block(refs: Sequence[Reference]) -> list[str]:
    """Encode + decode per event for each codec."""
    rows = [
        [
            r["codec"],
            interval(r["events_per_s"], r.get("low"), r.get("high")),
            f"{r['seconds_per_event'] * 1e6:.2f} µs",
        ]
        for r in _rows(refs, "serialization")
    ]
    if not rows:
        return ["No reference run measured serialization yet."]
    return table(["codec", "events/s (95% interval)", "encode + decode per event"], rows)


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
        *table(header, rows),
        "",
        "RSS counts each process and its children when the run finished (PostgreSQL's sum grows"
        " under load because each backend counts the shared buffers it touched).",
    ]


def capacity_block(refs: Sequence[Reference]) -> list[str]:
    """The capacity model (bench/report/capacity.py) from the reference load run's CPU, and
    again from the saturation search's highest met step, where batches are as at the limit."""
    runs = [r for r in refs if "load" in r.data]
    if not runs:
        return ["No reference load run yet."]
    lines = run_lines(runs[0].data, DEFAULT_LAYOUTS)
    if lines == [NO_RESOURCES]:
        return lines
    for ref in (r for r in refs if "saturation" in r.data):
        found = limit_step(ref)
        if found is None or not found[1].get("resources"):
            continue
        row, step = found
        lines += [
            "",
            f"The same model from the CPU of `{ref.name}`'s highest step that met its SLO"
            f" (step {row['step']}, {row['rate']:g} req/s). Elasticsearch's, Kafka's and the"
            " projector's CPU per request fall as the rate grows (a bulk, a refresh and a fetch"
            " cover more events), so the model from a slower run is a floor under the machine's"
            " limit and the one from near the limit comes closer to what the search measured:",
            "",
            *run_lines(step, DEFAULT_LAYOUTS),
        ]
    return [*lines, "", "How to read it: docs/scale-out.md."]


BLOCKS: dict[str, Callable[[Sequence[Reference]], list[str]]] = {
    "environment": environment_block,
    "stack": stack_block,
    "targets": targets_block,
    "load": load_block,
    "capacity": capacity_block,
    "saturation": saturation_block,
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
