"""Per-process state of a locust run (config, timetable, seed data) and its sample hook."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from locust import events
from locust.env import Environment
from locust.runners import MasterRunner

from bench.load.config import LoadConfig
from bench.load.keys import KeyChooser
from bench.load.pacing import Timetable, write_unsent
from bench.load.samples import LOCUST_COUNTS, Outcome, Phase, Sample, SampleWriter
from bench.load.shapes import Phase as ShapePhase
from bench.load.shapes import phases, rate_at, timetable


@dataclass
class Runtime:
    """What every user of this process shares."""

    config: LoadConfig
    seed: dict[str, Any]
    keys: KeyChooser
    plan: list[ShapePhase]
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


def runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("the load runtime is set up by locust's init event")
    return _current


def _plan(config: LoadConfig) -> list[ShapePhase]:
    if config.model == "closed" or config.rate is None:
        return []
    plan = phases(config.shape, config.rate, config.duration_s)
    if config.warmup_s:
        plan.insert(0, ShapePhase(config.warmup_s, plan[0].rate))
    return plan


def _on_init(environment: Environment, **_: Any) -> None:
    global _current
    config = LoadConfig.from_env()
    seed: dict[str, Any] = {}
    if config.seed_file:
        seed = json.loads(Path(config.seed_file).read_text())
    _current = Runtime(
        config=config,
        seed=seed,
        keys=KeyChooser(config.keys, config.distribution, config.zipf_s),
        plan=_plan(config),
    )
    if isinstance(environment.runner, MasterRunner) or config.workers == 0:
        from bench.scenarios.exporter import start_exporter

        start_exporter(environment, _current)


def _on_test_start(environment: Environment, **_: Any) -> None:
    rt = runtime()
    rt.worker = max(0, int(getattr(environment.runner, "worker_index", 0)))
    rt.epoch = time.time() + rt.config.lead_s
    if isinstance(environment.runner, MasterRunner):
        return
    if rt.config.model == "open":
        rt.timetable = Timetable(timetable(rt.plan), rt.epoch, rt.config.warmup_s)
    name = f"samples-{rt.worker}-{os.getpid()}.jsonl"
    rt.writer = SampleWriter(Path(rt.config.samples_dir) / name)


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
    if runner is not None and (isinstance(runner, MasterRunner) or not _current.config.workers):
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
        )
    )


class _Hook(Protocol):
    def add_listener(self, handler: Callable[..., None]) -> Callable[..., None]: ...


def install() -> None:
    """Attach the run's hooks to locust's events (the locustfile calls this once)."""
    hooks: list[tuple[Any, Callable[..., None]]] = [
        (events.init, _on_init),
        (events.test_start, _on_test_start),
        (events.test_stopping, _on_test_stopping),
        (events.test_stop, _on_test_stop),
        (events.quitting, _on_quitting),
        (events.request, _on_request),
    ]
    for hook, handler in hooks:
        cast(_Hook, hook).add_listener(handler)
