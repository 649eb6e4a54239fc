"""One load run end to end: seed, locust + lag probe, summary, lag, audit, results.json."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
from prometheus_client.parser import text_string_to_metric_families

from bench.audit import Check, ConflictCounts, audit
from bench.export.metric_names import COMMAND_CONFLICTS_TOTAL
from bench.export.publish import publish_run
from bench.faults.session import FaultPlan, FaultSession
from bench.lag.ceiling import add_kafka_ceiling
from bench.lag.es_ceiling import add_es_ceiling
from bench.lag.histograms import histogram_rows
from bench.lag.probe import LagProbe
from bench.lag.stamps import EventStamps, fetch_stamps, lag_row, lag_rows
from bench.load import seeding, timeseries
from bench.load.calibrate import (
    CALIBRATION_S,
    Calibration,
    CalibrationError,
    calibrate,
    calibration_rate,
    clear_run_files,
)
from bench.load.config import LoadConfig
from bench.load.health import ScheduleVerdict, judge
from bench.load.jit import warming_notes
from bench.load.jit_warmup import WarmupError, WarmupRound, warm_jvms
from bench.load.latency import Summary, summarize
from bench.load.locust_process import (
    STOP_TIMEOUT_S,
    LocustProcesses,
    free_port,
    port_free,
    run_time_s,
)
from bench.load.pacing import read_unsent
from bench.load.publish import render_run_panels
from bench.load.resources import ResourceSampler, head_position, idle_cores, resource_rows
from bench.load.rows import load_row, locust_conflicts, request_table
from bench.load.samples import Sample, measured_window, read_samples, sample_files
from bench.load.shapes import mean_rate, phases
from bench.report.constants import LagStage
from bench.report.cpu_probe import CpuProbe, CpuProbeSummary, changed
from bench.report.environment import gather_environment
from bench.report.files import write_report
from bench.report.results import Results
from bench.report.series import write_timeseries
from bench.run.system_settings import projector_settings
from system.bootstrap import open_event_store, open_read_store
from system.config import Settings
from system.projections import PROJECTIONS
from system.projections.runner import group_id
from system.readstore.elasticsearch import ElasticsearchReadStore

VISIBILITY_PROJECTION = "account_balance"
"""The read model whose visibility read-your-writes measures (the balance view)."""
CONFLICTS_METRIC = COMMAND_CONFLICTS_TOTAL.removesuffix("_total")
"""The api's counter of 409 version conflicts, as the text parser names its family."""


async def api_conflicts(client: httpx.AsyncClient) -> int:
    """The API's `cqrs_command_conflicts_total`, summed over its labels."""
    r = await client.get("/metrics")
    r.raise_for_status()
    total = 0.0
    for family in text_string_to_metric_families(r.text):
        if family.name == CONFLICTS_METRIC:
            total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return round(total)


class LoadRunError(RuntimeError):
    """The run could not be carried out (not: it ran and found problems)."""


@dataclass
class LoadRun:
    """What a finished run measured and where it wrote it."""

    config: LoadConfig
    out: Path
    summary: Summary
    verdict: ScheduleVerdict
    checks: list[Check]
    lag: list[dict[str, Any]]
    results_path: Path
    report_paths: list[Path] = field(default_factory=list)
    calibration: Calibration | None = None
    cpu_probe: CpuProbeSummary | None = None
    projector_settings: list[dict[str, str]] = field(default_factory=list)
    """The settings the projectors reported during the run (`system_settings.py`)."""

    @property
    def audit_passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def valid(self) -> bool:
        """False when the generator fell behind (see bench/load/health.py)."""
        return self.verdict.valid


@dataclass
class Progress:
    """What the live display shows; updated by the runner while locust runs."""

    started: float
    total_s: float
    probe: LagProbe
    exporter_url: str


def run_load(
    config: LoadConfig,
    settings: Settings,
    out: Path,
    *,
    on_progress: Callable[[Progress], Any] | None = None,
    calibration_s: float = CALIBRATION_S,
    faults: FaultPlan | None = None,
    ceilings: bool = False,
    jit_warmup_s: float = 0.0,
    on_warmup: Callable[[WarmupRound], Any] | None = None,
) -> LoadRun:
    """Carry out one run into `out`; raises LoadRunError if it could not run at all.

    With `ceilings` (on in `cqrs-bench load`, off for the runs of `faults` and
    `saturate`), Kafka's own end-to-end latency is measured on the same broker after the run
    (`bench/lag/ceiling.py`) as the `ceilings` row beside the lag's kafka stage, and
    Elasticsearch's own bulk + refresh beside its index and refresh stages (`es_ceiling.py`).

    It starts with `calibration_s` seconds of calibration against `/health` at the run's rate
    (0 = none), before seeding, so the report can show the generator's floor beside its figures.
    The machine's speed is probed from before the calibration to the end of the audit
    (cpu-probe.jsonl, bench/report/cpu_probe.py).

    With `jit_warmup_s` > 0, the scenario's load is offered in unmeasured rounds after seeding
    until the stack's JVMs stop compiling or that time is spent (`bench/load/jit_warmup.py`;
    each round passed to `on_warmup`); results.json keeps it as `config.jit_warmup`.
    """
    config.validate()
    clear_run_files(out)
    cpu_probe = CpuProbe()
    cpu_probe.start(out)
    try:
        return asyncio.run(
            _run(
                config,
                settings,
                out,
                on_progress,
                calibration_s,
                faults,
                ceilings,
                cpu_probe,
                jit_warmup_s,
                on_warmup,
            )
        )
    finally:
        cpu_probe.close()


async def _run(
    config: LoadConfig,
    settings: Settings,
    out: Path,
    on_progress: Callable[[Progress], Any] | None,
    calibration_s: float,
    faults: FaultPlan | None,
    ceilings: bool,
    cpu_probe: CpuProbe,
    jit_warmup_s: float,
    on_warmup: Callable[[WarmupRound], Any] | None,
) -> LoadRun:
    results = Results.new(f"load/{config.scenario}", {})
    session = FaultSession.of(faults, settings, out, config)  # validates the plan up front
    idle = await idle_cores(settings.stack_dir)
    calibration = await _calibrate(config, settings, out, calibration_s)
    store = await open_event_store(settings, min_size=1, max_size=8)
    read_store = open_read_store(settings)
    try:
        async with (
            httpx.AsyncClient(base_url=settings.api_url, timeout=30) as api,
            httpx.AsyncClient(base_url=settings.prometheus_url, timeout=5) as prometheus,
        ):
            try:
                seed = await seeding.seed(
                    config.scenario, settings.api_url, config.seed, config.keys
                )
            except (httpx.HTTPError, seeding.SeedError) as exc:
                raise LoadRunError(
                    f"could not seed {config.scenario} at {settings.api_url}: {exc}"
                ) from exc
            (out / "seed.json").write_text(json.dumps(seed))
            config = _with(config, samples_dir=str(out), seed_file=str(out / "seed.json"))
            if not port_free(config.exporter_port):
                busy, config = config.exporter_port, _with(config, exporter_port=free_port())
                results.notes.append(
                    f"locust's exporter port {busy} was taken (another run?): this run's served"
                    f" on {config.exporter_port}, which Prometheus does not scrape"
                )
            try:
                warmed = await warm_jvms(config, settings, out, jit_warmup_s, on_warmup)
            except WarmupError as exc:
                raise LoadRunError(str(exc)) from exc
            conflicts_before = await api_conflicts(api)
            groups = {name: group_id(settings, name) for name in PROJECTIONS}
            probe = LagProbe(
                prometheus,
                store,
                read_store,
                settings.kafka_bootstrap,
                groups,
                out / "lag-probe.jsonl",
            )
            stop = asyncio.Event()
            probing = asyncio.create_task(probe.run(stop))
            started = time.time()
            sampler = ResourceSampler(settings.stack_dir, out)
            head_before = await head_position(store.pool)
            await sampler.sample()
            locust = await LocustProcesses.start(config, settings.api_url, out, dict(os.environ))
            sampler.locust_pids = [p.pid for p in locust.procs]
            sampling = asyncio.create_task(sampler.run(stop))
            session.start(seeding.seeded_ids(seed))
            progress = Progress(
                started, run_time_s(config), probe, f"http://127.0.0.1:{config.exporter_port}"
            )
            waiting = asyncio.create_task(locust.wait(run_time_s(config) + STOP_TIMEOUT_S + 60))
            while not waiting.done():
                if on_progress is not None:
                    on_progress(progress)
                await asyncio.wait([waiting], timeout=1.0)
            code = waiting.result()
            await session.finish()
            stop.set()
            await probing
            await sampling
            events = await head_position(store.pool) - head_before
            if code != 0:
                raise LoadRunError(
                    f"locust exited with {code}; see {out}/locust.log and locust-stdout-*.log"
                )
            samples = list(read_samples(sample_files(out)))
            if not samples:
                raise LoadRunError(f"locust recorded no samples; see {out}/locust.log")
            conflicts = None
            if config.scenario == "contention":
                api_counted = await api_conflicts(api) - conflicts_before
                conflicts = ConflictCounts(locust_conflicts(out), api_counted)
            checks = (
                await audit(
                    store, read_store, samples, seeded=seeding.seeded_ids(seed), conflicts=conflicts
                )
                + session.checks()
            )
            summary = summarize(samples, read_unsent(out))
            verdict = judge(summary, duration_s=config.duration_s, target_rps=_target(config))
            lag, stamps = await _lag(read_store, store.pool, prometheus, samples)
            try:
                running = await projector_settings(prometheus, started, time.time())
            except httpx.HTTPError as exc:
                running = []
                results.notes.append(f"projector settings not read from Prometheus: {exc!r}")
        results.config = {**_config_dict(config, settings, seed), "projector_settings": running}
        if warmed is not None:
            results.config["jit_warmup"] = warmed.to_dict()
            results.notes.append(warmed.note())
        speed = await asyncio.to_thread(cpu_probe.stop)
        results.environment = await gather_environment(settings)
        results.environment["cpu_probe"] = speed
    finally:
        await store.close()
        await read_store.close()
    results.add("load", load_row(config, summary, verdict, calibration))
    session.record(results, samples)
    resources = resource_rows(sampler.snapshots, len(samples), events, idle)
    for row in resources:
        results.add("resources", row)
    results.notes.extend(warming_notes(resources))
    for row in lag:
        results.add("lag", row)
    if ceilings:
        results.notes.extend(await add_kafka_ceiling(results, settings))
        results.notes.extend(await add_es_ceiling(results, settings))
    for check in checks:
        results.add("audit", check.row())
    results.notes.extend(f"schedule not kept: {p}" for p in verdict.problems)
    if (speed_changed := changed(speed)) is not None:
        results.notes.append(speed_changed)
    if calibration is not None and calibration.not_ok:
        results.notes.append(
            f"the calibration's GET {calibration.route} was not answered 200 {calibration.not_ok}"
            " times (a 404: an api started before the route existed; see calibration/): its"
            " figures are not the generator's floor"
        )
    if calibration is not None and not calibration.verdict.valid:
        results.notes.append(
            f"the calibration against {calibration.route} at"
            f" {calibration.rate_rps:g} req/s did not keep its schedule either: this machine's"
            f" generator cannot offer this rate ({'; '.join(calibration.verdict.problems)})"
        )
    results.notes.extend(f"audit failed: {c.check}: {c.detail}" for c in checks if not c.passed)
    if probe.peaks:
        peaks = ", ".join(f"{k}={v:g}" for k, v in sorted(probe.peaks.items()))
        results.notes.append(f"peak lag during the run (lag-probe.jsonl): {peaks}")
    (out / "requests.json").write_text(json.dumps(request_table(summary), indent=2))
    series = timeseries.build(
        samples,
        read_unsent(out),
        stamps,
        timeseries.read_probe(out / timeseries.PROBE_FILE),
        open_model=config.model == "open",
    )
    write_timeseries(out, series)
    results.finish()
    results.notes.extend(await publish_run(results, settings))
    results.notes.extend(await render_run_panels(results.to_dict(), settings, out, started))
    path = results.write(out)
    report = write_report(results, out)
    return LoadRun(
        config, out, summary, verdict, checks, lag, path, report, calibration, speed, running
    )


async def _calibrate(
    config: LoadConfig, settings: Settings, out: Path, seconds: float
) -> Calibration | None:
    if seconds <= 0:
        return None
    try:
        return await calibrate(
            settings.api_url,
            calibration_rate(config),
            seconds,
            out / "calibration",
            dict(os.environ),
            workers=config.workers,
        )
    except CalibrationError as exc:
        raise LoadRunError(f"could not calibrate the generator: {exc}") from exc


def _with(config: LoadConfig, **changes: Any) -> LoadConfig:
    return msgspec.structs.replace(config, **changes)


def _target(config: LoadConfig) -> float | None:
    if config.model != "open" or config.rate is None:
        return None
    return mean_rate(phases(config.shape, config.rate, config.duration_s))


async def _lag(
    read_store: ElasticsearchReadStore,
    pool: asyncpg.Pool,
    prometheus: httpx.AsyncClient,
    samples: list[Sample],
) -> tuple[list[dict[str, Any]], list[EventStamps]]:
    """Stage rows for events committed in the measured window (lag records, else the
    histograms), plus visibility; and the stamps the rows came from."""
    window = measured_window(samples)
    if window is None:
        return [], []
    stamps = await fetch_stamps(read_store.client, read_store.lag_index, pool, *window)
    rows = lag_rows(stamps) or await histogram_rows(prometheus, *window)
    visibility = [
        s.latency for s in samples if s.request == LagStage.VISIBILITY and s.phase == "measured"
    ]
    if visibility:
        rows.append(lag_row(VISIBILITY_PROJECTION, LagStage.VISIBILITY, visibility))
    return rows, stamps


def _config_dict(config: LoadConfig, settings: Settings, seed: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(config)
    data["api_url"] = settings.api_url
    data["seeded"] = {k: len(v) for k, v in seed.items() if isinstance(v, list)}
    return data
