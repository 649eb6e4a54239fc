"""The committed reference runs (reports/reference/*/) and how the README writes their figures."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report.constants import step_dir
from bench.report.results import load

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reports" / "reference"

Run = Mapping[str, Any]


@dataclass(frozen=True)
class Reference:
    """One committed reference run: its directory name and its results."""

    name: str
    data: Run

    @property
    def command(self) -> str:
        """The command that produced the run, rebuilt from its configuration."""
        config = self.data["config"]
        if "saturation" in self.data:
            return (
                f"cqrs-bench saturate --scenario {config['scenario']} --slo {config['slo']}"
                f" --step {config['step_s']:g}s --warmup {config['warmup_s']:g}s"
                f" --low {config['low']:g} --high {config['high']:g}"
                f" --max-steps {config['max_steps']} --recheck {config.get('recheck', 0)}"
                f" --jit-warmup {_duration(config.get('jit_warmup_s', 0))}"
            )
        if "load" in self.data:
            warmed = config.get("jit_warmup")
            return (
                f"cqrs-bench load --scenario {config['scenario']} --rate {config['rate']:g}"
                f" --duration {config['duration_s']:g} --warmup {config['warmup_s']:g}"
                + (f" --jit-warmup {_duration(warmed['limit_s'])}" if warmed else "")
            )
        return f"cqrs-bench micro --suite {self.data['suite']}"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g}m" if seconds and seconds % 60 == 0 else f"{seconds:g}"


def references(root: Path = REFERENCE) -> list[Reference]:
    """Every reference run under `root`, by directory name."""
    return [
        Reference(path.parent.name, load(path).to_dict())
        for path in sorted(root.glob("*/results.json"))
    ]


def limit_step(ref: Reference, root: Path = REFERENCE) -> tuple[dict[str, Any], Run] | None:
    """A saturation reference's highest rate that met its SLO, by the verdict the search went on
    (a rate's recheck's, if it had one: a step its recheck overturned is not the limit), with
    that run's own results (committed under `steps/rate-R[-xN]/`), or None when there is no
    such rate or file."""
    steps = [row for row in ref.data.get("saturation") or [] if row.get("kind") == "step"]
    # Rechecks sort last, so each rate keeps the row whose verdict counts.
    deciding = {row["rate"]: row for row in sorted(steps, key=lambda r: bool(r.get("recheck")))}
    met = [row for row in deciding.values() if row.get("met")]
    if not met:
        return None
    row = max(met, key=lambda r: r["rate"])
    stretch = ref.data["config"].get("recheck", 1) if row.get("recheck") else 1
    path = step_dir(root / ref.name, row["rate"], stretch) / "results.json"
    return (row, load(path).to_dict()) if path.exists() else None


def num(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def ms(x: float) -> str:
    return f"{x * 1e3:.0f} ms" if x >= 0.01 else f"{x * 1e3:.1f} ms"


def interval(value: float, low: Any, high: Any, fmt: Callable[[float], str] = num) -> str:
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low != high:
        return f"{fmt(value)} ({fmt(low)} to {fmt(high)})"
    return fmt(value)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows),
    ]
