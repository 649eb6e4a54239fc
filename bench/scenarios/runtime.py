"""Per-process state of a locust run (config, timetable, seed data) and its sample hook."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from bench.load.config import LoadConfig
from bench.load.keys import KeyChooser
from bench.load.options import add_arguments, config_from_options
from bench.load.pacing import Timetable, write_unsent
from bench.load.registry import SCENARIOS
from bench.load.samples import LOCUST_COUNTS, Outcome, Phase, Sample, SampleWriter
from bench.load.shapes import Segment, phases, rate_at, timetable
from bench.scenarios.exporter import start_exporter


@dataclass
class Runtime:
    """What every user of this process shares."""

    config: LoadConfig
    seed: dict[str, Any]
    keys: KeyChooser
    plan: list[Segment]
    epoch: float = 0.0
    worker: int = 0
    timetable: Timetable | None = None
    writer: SampleWriter | None = None
    pools: dict[str, list[Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    sent: set[float] = field(default_factory=set)
    """Intended starts that a request carried (open model): the tickets that were sent."""
    stopped_at: float | None = None

    @property
    def workers(self) -> int:
        return max(1, self.config.workers)

    def phase_at(self, t: float) -> Phase:
        return "warmup" if t - self.epoch < self.config.warmup_s else "measured"

    def target_rps(self, now: float) -> float:
        return rate_at(self.plan, now - self.epoch) if self.config.model == "open" else 0.0


_current: Runtime | None = None
SEED_TIMEOUT_S = 300


def runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("the load runtime is set up at test start (see the error before)")
    return _current


def _plan(config: LoadConfig) -> list[Segment]:
    if config.model == "closed" or config.rate is None:
        return []
    plan = phases(config.shape, config.rate, config.duration_s)
    if config.warmup_s:
        plan.insert(0, Segment(config.warmup_s, plan[0].rate))
    return plan


def _on_parser(parser: Any, **_: Any) -> None:
    add_arguments(parser)


def _on_init(environment: Environment, **_: Any) -> None:
    """Pick the scenario's user class (unless classes were named) and start the exporter."""
    # gevent's loop caches "now" from its last iteration, before the locustfile was imported;
    # locust arms `-t` from that stale time, so a slow import (8 s on a loaded 2-core box) cut a
    # `-t 15s` run to 6.5 s with no request sent.
    gevent.get_hub().loop.update_now()
    options = environment.parsed_options
    if options is None or isinstance(environment.runner, WorkerRunner):
        return
    _pick_user_class(environment, str(options.scenario))
    if int(options.exporter_port) > 0:
        try:
            start_exporter(environment, _run_state, int(options.exporter_port))
        except OSError as exc:
            logging.getLogger(__name__).warning(
                "cqrs-bench: no exporter on --exporter-port %s: %s", options.exporter_port, exc
            )


def _run_state(now: float) -> tuple[str, float] | None:
    """The running test's scenario and target rate at `now` (None before it started)."""
    return None if _current is None else (_current.config.scenario, _current.target_rps(now))


def _pick_user_class(environment: Environment, scenario: str) -> None:
    options = environment.parsed_options
    named = bool(getattr(options, "user_classes", None)) or bool(
        getattr(options, "class_picker", 0)
    )
    if named or scenario not in SCENARIOS:
        return
    wanted = SCENARIOS[scenario]
    chosen = [cls for cls in environment.user_classes if getattr(cls, "scenario", None) is wanted]
    if chosen:
        environment.user_classes = chosen


def _on_test_start(environment: Environment, **_: Any) -> None:
    """Build this process's runtime; bad options or a failed seeding stop locust, named."""
    try:
        _start(environment)
    except (ValueError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        logging.getLogger(__name__).error("cqrs-bench: %s", exc)
        environment.process_exit_code = 1
        if environment.runner is not None:
            environment.runner.quit()


def _start(environment: Environment) -> None:
    """Config from the options, seed data, the timetable.

    A master (or a local runner) seeds once and hands the seed, the epoch, the worker count and
    the samples directory to its workers inside locust's own spawn message (custom options).
    """
    global _current
    runner = environment.runner
    options = environment.parsed_options
    assert options is not None and runner is not None
    if _current is not None and _current.writer is not None:
        _current.writer.close()
    if isinstance(runner, WorkerRunner):
        config = config_from_options(
            options, 1, int(options.cqrs_workers), float(options.cqrs_duration_s)
        )
        seed: dict[str, Any] = json.loads(options.cqrs_seed)
        epoch = float(options.cqrs_epoch)
    else:
        _pick_user_class(environment, str(options.scenario))
        workers = runner.worker_count if isinstance(runner, MasterRunner) else 0
        if not options.samples_dir:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            options.samples_dir = str(Path("reports") / f"locust-{stamp}")
        users = int(options.num_users or 1)
        config = config_from_options(options, users, workers)
        Path(config.samples_dir).mkdir(parents=True, exist_ok=True)
        seed = _seed_data(config, str(environment.host))
        spent = max(0.0, time.time() - runner.stats.start_time)  # -t runs from there
        config = config_from_options(options, users, workers, spent_s=spent)
        epoch = time.time() + config.lead_s
        options.cqrs_workers, options.cqrs_epoch = workers, epoch
        options.cqrs_duration_s = config.duration_s
        options.cqrs_seed = json.dumps(seed)
    Path(config.samples_dir).mkdir(parents=True, exist_ok=True)
    rt = Runtime(
        config=config,
        seed=seed,
        keys=KeyChooser(config.keys, config.distribution, config.zipf_s),
        plan=_plan(config),
        epoch=epoch,
        worker=max(0, int(getattr(runner, "worker_index", 0))),
    )
    _current = rt
    if isinstance(runner, MasterRunner):
        return
    if config.model == "open":
        rt.timetable = Timetable(timetable(rt.plan), rt.epoch, config.warmup_s)
    name = f"samples-{rt.worker}-{os.getpid()}.jsonl"
    rt.writer = SampleWriter(Path(config.samples_dir) / name)


def _seed_data(config: LoadConfig, host: str) -> dict[str, Any]:
    """The seed file's data, or seed data created now over HTTP (in a child process: the
    seeder is asyncio, locust is gevent)."""
    if config.seed_file:
        data: dict[str, Any] = json.loads(Path(config.seed_file).read_text())
        return data
    if not SCENARIOS[config.scenario].seeds:
        return {}
    argv = [sys.executable, "-m", "bench.load.seeding", config.scenario, host]
    argv += ["--seed", str(config.seed), "--keys", str(config.keys)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=SEED_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"seeding {config.scenario} at {host} failed: {done.stderr[-2000:]}")
    path = Path(config.samples_dir) / "seed.json"
    path.write_text(done.stdout)
    seeded: dict[str, Any] = json.loads(done.stdout)
    return seeded


def _on_test_stopping(**_: Any) -> None:
    if _current is not None and _current.stopped_at is None:
        _current.stopped_at = time.time()


def _on_test_stop(**_: Any) -> None:
    """Record the tickets this process never sent (its users are stopped by now)."""
    rt = _current
    if rt is None or rt.timetable is None:
        return
    stopped_at = rt.stopped_at if rt.stopped_at is not None else time.time()
    record = rt.timetable.unsent(rt.worker, rt.workers, rt.sent, stopped_at)
    name = f"unsent-{rt.worker}-{os.getpid()}.json"
    write_unsent(Path(rt.config.samples_dir) / name, record)


def _on_quitting(environment: Environment, **_: Any) -> None:
    if _current is None:
        return
    if _current.writer is not None:
        _current.writer.close()
        _current.writer = None
    runner = environment.runner
    if runner is not None and not isinstance(runner, WorkerRunner):
        # locust's CSV can be written before the last requests land; its final stats cannot.
        counts = {str(e.name): int(e.num_requests) for e in runner.stats.entries.values()}
        path = Path(_current.config.samples_dir) / LOCUST_COUNTS
        path.write_text(json.dumps(counts, indent=1))


def _outcome(status: int, context: dict[str, Any]) -> Outcome:
    given: Outcome | None = context.get("outcome")
    if given is not None:
        return given
    if status in (200, 201):
        return "ok"
    if status == 202:
        return "processing"
    if 400 <= status < 500:
        return "rejected"
    return "error"


def _on_request(
    name: str,
    response_time: float,
    context: dict[str, Any] | None,
    start_time: float | None = None,
    response: Any = None,
    **_: Any,
) -> None:
    rt = _current
    if rt is None or rt.writer is None:
        return
    ctx = context or {}
    if rt.timetable is not None and "intended" in ctx:
        rt.sent.add(ctx["intended"])
    sent = start_time if start_time is not None else time.time() - response_time / 1000
    status = int(getattr(response, "status_code", 0) or 0)
    ack: dict[str, Any] = ctx.get("ack") or {}
    rt.writer.write(
        Sample(
            request=name,
            intended=ctx.get("intended", sent),
            sent=sent,
            finished=sent + response_time / 1000,
            outcome=_outcome(status, ctx),
            status=status,
            phase=ctx.get("phase", "measured"),
            worker=rt.worker,
            aggregate_id=ack.get("aggregate_id", ctx.get("aggregate_id")),
            version=ack.get("version"),
            position=ack.get("position"),
            expected_version=ctx.get("expected_version"),
            actual_version=ctx.get("actual_version"),
            conflict_stream=ctx.get("conflict_stream"),
            conflict_expected=ctx.get("conflict_expected"),
        )
    )


class _Hook(Protocol):
    def add_listener(self, handler: Callable[..., None]) -> Callable[..., None]: ...


def install() -> None:
    """Attach the run's hooks to locust's events (the locustfile calls this once)."""
    hooks: list[tuple[Any, Callable[..., None]]] = [
        (events.init_command_line_parser, _on_parser),
        (events.init, _on_init),
        (events.test_start, _on_test_start),
        (events.test_stopping, _on_test_stopping),
        (events.test_stop, _on_test_stop),
        (events.quitting, _on_quitting),
        (events.request, _on_request),
    ]
    for hook, handler in hooks:
        cast(_Hook, hook).add_listener(handler)
