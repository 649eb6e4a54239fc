"""The run's settings as flags: locust's custom arguments, and `cqrs-bench load`'s and `saturate`'s.

`add_arguments` registers them on locust's parser (shown in the web UI, sent by a master to its
workers with every spawn message); `config_from_options` builds the validated `LoadConfig` from
locust's parsed options; `to_args` writes a `LoadConfig` back as those arguments, which is how
`cqrs-bench load` starts locust; `config_from_flags` builds it from the `cqrs-bench` commands'
flags. Durations accept `90`, `90s`, `1m30s`, `1h`.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Protocol

from bench.load.config import LoadConfig
from bench.load.metrics import EXPORTER_HOST, EXPORTER_PORT
from bench.load.registry import CALIBRATION, SCENARIOS
from bench.load.shapes import SHAPES, ShapeName

DEFAULT_SCENARIO = "orders"
LOAD_SCENARIOS = [name for name in SCENARIOS if name != CALIBRATION.name]
"""The scenarios `cqrs-bench load` and `saturate` run (`cqrs-bench calibrate` runs calibration)."""
DEFAULT_RATE = 10.0
OPEN_ENDED_S = 3600.0
"""Measured seconds of an open-model timetable when neither --duration nor -t says (web UI)."""
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def parse_duration(text: str, option: str = "--duration") -> float:
    """Seconds from `90`, `90s`, `1m30s`, `2m`, `1h` (ValueError naming `option` otherwise)."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"{option}: expected seconds like 90, 90s or 1m30s, got {text!r}")
    hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def parse_mix(text: str) -> dict[str, int]:
    """Operation weights from `deposit=3,withdraw=1` (empty text: the scenario's own mix)."""
    mix: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition("=")
        if not sep or not weight.strip().isdigit():
            raise ValueError(f"--mix: expected OPERATION=WEIGHT[,...], got {part!r}")
        mix[name.strip()] = int(weight)
    return mix


def format_mix(mix: dict[str, int]) -> str:
    return ",".join(f"{name}={weight}" for name, weight in mix.items())


class _Parser(Protocol):
    def add_argument(self, *args: Any, **kwargs: Any) -> Any: ...


def add_arguments(parser: _Parser) -> None:
    """Register the run's settings as locust custom arguments (`init_command_line_parser`)."""
    add = parser.add_argument
    add("--scenario", choices=list(SCENARIOS), default=DEFAULT_SCENARIO,
        help="workload: picks the user class and its operation mix")  # fmt: skip
    add("--rate", type=float, default=DEFAULT_RATE,
        help="open model: target requests/s offered by all users together (0 = closed model:"
        " every user loops with --think-time)")  # fmt: skip
    add("--shape", choices=list(SHAPES), default="constant", help="open model rate over time")
    add("--seed", type=int, default=1, help="fixes every random choice (keys, amounts)")
    add("--duration", default="",
        help="measured time of the timetable, e.g. 60, 90s, 1m30s (default: -t minus lead and"
        " warm-up, or an hour)")  # fmt: skip
    add("--warmup", default="0", help="seconds of load before measuring (e.g. 10, 10s)")
    add("--think-time", type=float, default=1.0, help="closed model: seconds between operations")
    add("--keys", type=int, default=8, help="contention: hot accounts the users share")
    add("--zipf", type=float, default=0.0, help="contention: Zipf s over the keys (0 = uniform)")
    add("--mix", default="", help="operation weights, e.g. deposit=3,withdraw=1 (default: the"
        " scenario's)")  # fmt: skip
    add("--lead", type=float, default=2.0, include_in_web_ui=False,
        help="seconds between test start and the first intended arrival")  # fmt: skip
    add("--samples-dir", default="", include_in_web_ui=False,
        help="where raw samples go (default reports/locust-<time>/)")  # fmt: skip
    add("--seed-file", default="", include_in_web_ui=False,
        help="seed data from cqrs-bench load (default: seed over HTTP at start)")  # fmt: skip
    add("--exporter-port", type=int, default=EXPORTER_PORT, include_in_web_ui=False,
        help="Prometheus exporter port of the master or local runner (0 = none)")  # fmt: skip
    add("--exporter-host", default=EXPORTER_HOST, include_in_web_ui=False,
        help="address the exporter binds (0.0.0.0 where Prometheus scrapes from another host,"
        " as in docker-compose.yml)")  # fmt: skip


def _measured_s(
    options: argparse.Namespace, lead_s: float, warmup_s: float, spent_s: float
) -> float:
    if options.duration:
        return parse_duration(str(options.duration))
    run_time = getattr(options, "run_time", None)
    if run_time:
        return max(1.0, float(run_time) - spent_s - lead_s - warmup_s)
    return OPEN_ENDED_S


def config_from_options(
    options: argparse.Namespace,
    users: int,
    workers: int,
    duration_s: float | None = None,
    spent_s: float = 0.0,
) -> LoadConfig:
    """The validated run configuration from locust's parsed options (ValueError naming a flag).

    `users` is locust's `-u` (the open model's slots, the closed model's users); `workers` the
    number of processes sharing the timetable; `duration_s` the measured time the master chose
    (a worker does not see the master's `-t`); `spent_s` how much of `-t` is gone already
    (seeding runs inside it).
    """
    warmup_s = parse_duration(str(options.warmup), "--warmup")
    lead_s = float(options.lead)
    rate = float(options.rate)
    if rate < 0:
        raise ValueError(f"--rate must not be negative (0 = closed model), got {rate:g}")
    open_model = rate > 0
    zipf = float(options.zipf)
    config = LoadConfig(
        scenario=str(options.scenario),
        model="open" if open_model else "closed",
        duration_s=duration_s or _measured_s(options, lead_s, warmup_s, spent_s),
        seed=int(options.seed),
        rate=rate if open_model else None,
        shape=options.shape,
        slots=max(1, users) if open_model else 0,
        users=max(1, users) if not open_model else 0,
        think_time_s=float(options.think_time),
        warmup_s=warmup_s,
        workers=workers,
        keys=int(options.keys),
        distribution="zipf" if zipf > 0 else "uniform",
        zipf_s=zipf if zipf > 0 else 1.1,
        mix=parse_mix(str(options.mix)),
        lead_s=lead_s,
        samples_dir=str(options.samples_dir),
        seed_file=str(options.seed_file),
        exporter_port=int(options.exporter_port),
    )
    config.validate()
    return config


def config_from_flags(
    scenario: str,
    *,
    duration: str,
    warmup: str,
    seed: int,
    rate: float | None = None,
    users: int | None = None,
    shape: ShapeName = "constant",
    slots: int = 0,
    think_time: float = 1.0,
    workers: int = 0,
    keys: int = 8,
    zipf: float | None = None,
    mix: str = "",
    duration_flag: str = "--duration",
) -> LoadConfig:
    """The validated run configuration from a `cqrs-bench` command's flags (ValueError naming a
    flag): --rate gives the open model, --users the closed one; durations and --mix as typed;
    no --zipf draws keys uniformly. `duration_flag` names the measured time (`saturate`: --step).
    """
    if scenario == CALIBRATION.name:
        raise ValueError(
            "--scenario calibration is what `cqrs-bench calibrate` runs; use that command"
        )
    if rate is not None and users is not None:
        raise ValueError("give either --rate (open model) or --users (closed model), not both")
    if rate is None and users is None:
        raise ValueError("give --rate (open model, requests/s) or --users (closed model)")
    config = LoadConfig(
        scenario=scenario,
        model="open" if rate is not None else "closed",
        duration_s=parse_duration(duration, duration_flag),
        seed=seed,
        rate=rate,
        shape=shape,
        slots=slots,
        users=users or 0,
        think_time_s=think_time,
        warmup_s=parse_duration(warmup, "--warmup"),
        workers=workers,
        keys=keys,
        distribution="zipf" if zipf is not None else "uniform",
        zipf_s=zipf if zipf is not None else 1.1,
        mix=parse_mix(mix),
    )
    config.validate()
    return config


def to_args(config: LoadConfig) -> list[str]:
    """`config` as locust custom arguments (what `cqrs-bench load` passes to locust)."""
    args = [
        "--scenario", config.scenario,
        "--rate", str(config.rate if config.model == "open" and config.rate else 0),
        "--shape", config.shape,
        "--seed", str(config.seed),
        "--duration", f"{config.duration_s:g}",
        "--warmup", f"{config.warmup_s:g}",
        "--think-time", f"{config.think_time_s:g}",
        "--keys", str(config.keys),
        "--zipf", f"{config.zipf_s:g}" if config.distribution == "zipf" else "0",
        "--lead", f"{config.lead_s:g}",
        "--samples-dir", config.samples_dir,
        "--exporter-port", str(config.exporter_port),
    ]  # fmt: skip
    if config.mix:
        args += ["--mix", format_mix(config.mix)]
    if config.seed_file:
        args += ["--seed-file", config.seed_file]
    return args
