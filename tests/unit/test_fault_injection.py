"""The deep faults' pure parts: their specs, the relay's crash-after-ack hook (off by default,
exits before the mark when armed), the supervisor's first-child-only environment, and where a
projection resumes after Kafka's retention deleted what it had not read."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from aiokafka.errors import OffsetOutOfRangeError

from bench.faults.plan import Fault, FaultSpecError, parse_fault
from bench.faults.suite import SuiteError, load_suite, parse_suite
from bench.report.results import Results
from system.bus.fault_injection import CRASH_EXIT_CODE
from system.config import Settings
from system.projections.pipeline import Receiver
from system.projections.retention import plan_resume
from system.resilience import Backoff


def test_the_deep_faults_parse_and_belong_to_one_service_each() -> None:
    assert parse_fault("relay:crash-after-ack@5") == Fault("relay", "crash-after-ack", 5.0)
    held = parse_fault("postgres:hold-tx=60@4")
    assert held == Fault("postgres", "hold-tx", 4.0, 60.0)
    assert held.spec == "postgres:hold-tx=60@4"
    assert parse_fault("projector:outlive-retention@3").label == "outlive-retention"
    for spec, names in [
        ("api:crash-after-ack@5", "crash-after-ack is a fault of relay only"),
        ("kafka:hold-tx=5@5", "hold-tx is a fault of postgres only"),
        ("postgres:hold-tx@5", "hold-tx needs its length"),
        ("postgres:hold-tx=0@5", "the hold-tx length must be positive"),
        ("projector:outlive-retention=3@5", "takes no '=' argument"),
    ]:
        with pytest.raises(FaultSpecError, match=names):
            parse_fault(spec)


def test_the_crash_hook_is_off_unless_configured_and_refuses_nonsense() -> None:
    assert Settings.from_env({}).relay_crash_after_ack is None
    assert Settings.from_env({"CQRS_RELAY_CRASH_AFTER_ACK": ""}).relay_crash_after_ack is None
    assert Settings.from_env({"CQRS_RELAY_CRASH_AFTER_ACK": "3"}).relay_crash_after_ack == 3
    with pytest.raises(ValueError, match="CQRS_RELAY_CRASH_AFTER_ACK must be a positive integer"):
        Settings.from_env({"CQRS_RELAY_CRASH_AFTER_ACK": "0"})


ARMED = textwrap.dedent(
    """
    import asyncio
    from system.bus.fault_injection import relay_outbox

    class Pool:
        async def execute(self, query, positions, acked):
            print("marked", positions, flush=True)

    async def main():
        outbox = relay_outbox(Pool(), {after})
        await outbox.mark_published([1, 2], [0.0, 0.0])
        await outbox.mark_published([3, 4], [0.0, 0.0])
        print("survived", flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize(("after", "code", "marked"), [(2, CRASH_EXIT_CODE, 1), (None, 0, 2)])
def test_an_armed_relay_exits_abruptly_instead_of_its_nth_mark(
    after: int | None, code: int, marked: int
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ARMED.format(after=after)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == code, done.stderr
    assert done.stdout.count("marked") == marked, done.stdout
    assert ("survived" in done.stdout) is (after is None)
    if after is not None:
        assert "exiting before marking them published" in done.stderr
        assert "positions 3..4" in done.stderr


def test_the_supervisor_sets_the_first_env_in_its_first_child_only(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    child = f"import os; open({str(seen)!r}, 'a').write(os.environ.get('HOOK', '-') + '\\n')"
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "bench.stack.supervisor", "--dir", str(tmp_path / "svc"),
         "--first-env", "HOOK=armed", "--", sys.executable, "-c", child],
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(seen.read_text().splitlines() if seen.exists() else []) < 3:
            assert time.monotonic() < deadline, "the supervisor did not restart its child"
            time.sleep(0.1)
    finally:
        os.kill(supervisor.pid, signal.SIGTERM)
        supervisor.wait(30)
    assert seen.read_text().splitlines()[:3] == ["armed", "-", "-"]


def test_a_projection_resumes_where_it_was_unless_retention_deleted_it() -> None:
    committed: dict[int, int | None] = {0: 40, 1: 10, 2: None, 3: None}
    starts = {0: 0, 1: 25, 2: 0, 3: 7}
    resume, gaps = plan_resume(committed, starts)
    assert resume == {0: 40, 1: 25, 2: 0, 3: 7}
    assert gaps == {1: (10, 25), 3: (0, 7)}
    assert plan_resume({0: 25}, {0: 25}) == ({0: 25}, {})


def test_a_run_may_last_longer_than_its_suite_and_the_full_suite_has_the_deep_faults() -> None:
    suite = {"scenario": "banking", "rate": 20, "duration": 10, "runs": [
        {"name": "held", "duration": 75, "faults": ["postgres:hold-tx=60@5"]}]}  # fmt: skip
    assert parse_suite(suite, "s.toml").runs[0].duration_s == 75.0
    suite["runs"][0]["faults"] = ["postgres:hold-tx=60@80"]  # type: ignore[index]
    with pytest.raises(SuiteError, match=r"starts at 80s, not inside the measured 75s"):
        parse_suite(suite, "s.toml")
    suite["runs"][0]["duration"] = -1  # type: ignore[index]
    with pytest.raises(SuiteError, match=r"runs\[0\] \(held\): `duration` must be positive"):
        parse_suite(suite, "s.toml")
    deep = {f.action for run in load_suite("full").runs for f in run.plan.faults}
    assert {"crash-after-ack", "hold-tx", "outlive-retention"} <= deep


class _Gone:
    """A consumer whose first fetch meets messages retention deleted on partition `tp`."""

    def __init__(self, paused: set[str]) -> None:
        self._paused = paused
        self.fetches = 0

    def paused(self) -> set[str]:
        return self._paused

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[str, list[int]]:
        self.fetches += 1
        if self.fetches == 1:
            raise OffsetOutOfRangeError({"tp": 41})
        await asyncio.sleep(0.01)
        return {"other": [1]}


async def _no_outage(exc: Exception, delays: Backoff, stop: asyncio.Event) -> None:
    raise AssertionError(f"an out-of-range offset is not an outage: {exc}")


async def test_the_receiver_stops_at_deleted_events_unless_their_repair_holds_them() -> None:
    with pytest.raises(OffsetOutOfRangeError):
        await Receiver(_Gone(paused=set()), 10, _no_outage).run(asyncio.Event())
    held = Receiver(_Gone(paused={"tp"}), 10, _no_outage)
    stop = asyncio.Event()
    task = asyncio.create_task(held.run(stop))
    taken = await held.take(2.0)
    stop.set()
    await task
    assert [r.batch for r in taken] == [{"other": [1]}]


@pytest.mark.parametrize(
    "spec",
    ["relay:crash-after-ack@5", "postgres:hold-tx=60@5", "projector:outlive-retention@5"],
)
def test_every_fault_action_fits_the_results_schema(spec: str) -> None:
    fault = parse_fault(spec)
    results = Results.new("faults/test", {})
    row = {"service": fault.service, "action": fault.label, "at": fault.at,
           "recovery_seconds": 1.0, "errors": {}}  # fmt: skip
    results.add("faults", row)
    assert results.rows("faults") == [row]
