"""Kafka's own end-to-end latency on the stack's broker: the ceiling of the lag's kafka stage.

Runs Kafka's `org.apache.kafka.tools.EndToEndLatency` (from the kafka-tools jar, resolved from
Maven Central beside the broker's jars by `bench/lag/kafka_tools/pom.xml`) against the same
broker, with acks=all and records of the envelope's size: it produces one record, waits until
its consumer receives it, and repeats, then prints whole-millisecond percentiles. A few short
rounds give each percentile a 95 % interval (`bench/report/intervals.py`). Each run of the tool
leaves a consumer group (`test-group-<millis>`) on the broker; `measure` deletes those its own
rounds created.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from bench.report.constants import KAFKA_CEILING
from bench.report.intervals import median_interval
from bench.stack.downloads import maven_copy_dependencies
from bench.stack.java import java_bin
from bench.stack.kafka import KAFKA_VERSION, ensure_jars
from system.config import Settings

log = logging.getLogger(__name__)

TOOL = "org.apache.kafka.tools.EndToEndLatency"
TOPIC = "cqrs-bench-e2e-latency"
TOOL_GROUP_PREFIX = "test-group-"
"""The tool's consumer group is this and the time it started, in milliseconds."""
ENVELOPE_BYTES = 380
"""Record size: an `orders` event envelope is 350-400 bytes (`system/bus/envelope.py`)."""
ROUNDS = 3
RECORDS = 300
"""Records per round (one at a time: about 1 s per round on an idle broker)."""
TIMEOUT_S = 90.0
POM = Path(__file__).parent / "kafka_tools" / "pom.xml"
_PERCENTILES = re.compile(r"Percentiles: 50th = (\d+), 99th = (\d+), 99\.9th = (\d+)")
_AVERAGE = re.compile(r"Avg latency: ([0-9.]+) ms")


class CeilingError(RuntimeError):
    """The tool could not be run or printed no percentiles."""


@dataclass(frozen=True)
class ToolRound:
    """One run of the tool, in seconds (its percentiles have a 1 ms resolution)."""

    p50: float
    p99: float
    p999: float
    average: float


def parse(output: str) -> ToolRound:
    """The percentiles and average the tool printed; CeilingError if it printed none."""
    found = _PERCENTILES.search(output)
    average = _AVERAGE.search(output)
    if found is None or average is None:
        tail = output.strip().splitlines()[-5:]
        raise CeilingError(f"{TOOL} printed no percentiles: {' | '.join(tail)}")
    p50, p99, p999 = (int(x) / 1000 for x in found.groups())
    return ToolRound(p50, p99, p999, float(average.group(1)) / 1000)


def classpath(settings: Settings) -> str:
    """The broker's jars and kafka-tools' (resolved once into the cache)."""
    tools = maven_copy_dependencies(
        POM,
        settings.cache_dir / f"kafka-tools-{KAFKA_VERSION}",
        settings.cache_dir,
        **{"kafka.version": KAFKA_VERSION},
    )
    return f"{ensure_jars(settings)}/*:{tools / 'libs'}/*"


def command(settings: Settings, records: int, record_size: int) -> list[str]:
    """The tool's java command line against the stack's broker (acks=all)."""
    return [
        str(java_bin()),
        "-Xmx192m",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        classpath(settings),
        TOOL,
        "--bootstrap-server",
        settings.kafka_bootstrap,
        "--topic",
        TOPIC,
        "--num-records",
        str(records),
        "--producer-acks",
        "all",
        "--record-size",
        str(record_size),
    ]


async def run_round(settings: Settings, records: int, record_size: int) -> ToolRound:
    """One run of the tool; CeilingError if it fails or times out."""
    argv = await asyncio.to_thread(command, settings, records, record_size)
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        async with asyncio.timeout(TIMEOUT_S):
            out, _ = await proc.communicate()
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise CeilingError(f"{TOOL} did not finish within {TIMEOUT_S:g} s") from exc
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise CeilingError(f"{TOOL} exited with {proc.returncode}: {text.strip()[-500:]}")
    return parse(text)


async def measure(
    settings: Settings,
    *,
    rounds: int = ROUNDS,
    records: int = RECORDS,
    record_size: int = ENVELOPE_BYTES,
) -> list[ToolRound]:
    """`rounds` runs of the tool against the stack's broker (their consumer groups deleted)."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    before = await _tool_groups(admin)
    try:
        return [await run_round(settings, records, record_size) for _ in range(rounds)]
    finally:
        if before is not None:
            await _drop_new_groups(admin, before)


async def _tool_groups(admin: AdminClient) -> set[str] | None:
    """The consumer groups the tool names (`test-group-<millis>`) on the broker now; None if
    the broker would not list them."""
    try:
        listed = await asyncio.to_thread(admin.list_consumer_groups().result, 30)
    except KafkaException as exc:
        log.warning("consumer groups not listed (%s): EndToEndLatency's are left", exc)
        return None
    return {g.group_id for g in listed.valid if g.group_id.startswith(TOOL_GROUP_PREFIX)}


async def _drop_new_groups(admin: AdminClient, before: set[str]) -> None:
    """Delete the tool's groups that were not there `before`: best effort, since the ceiling
    was measured either way."""
    now = await _tool_groups(admin)
    if not now or not now - before:
        return
    for group, future in admin.delete_consumer_groups(sorted(now - before)).items():
        try:
            await asyncio.to_thread(future.result, 30)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                log.warning("consumer group %s not deleted (%s)", group, exc)


def ceiling_row(
    rounds: Sequence[ToolRound], records: int = RECORDS, size: int = ENVELOPE_BYTES
) -> dict[str, Any]:
    """The `ceilings` row: p50 (main figure) and p99, each the median of the rounds with its
    interval. The tool's whole milliseconds make a p50 under 1 ms read 0: it is entered as
    1 ms, an upper bound, so the ceiling stays positive."""
    p50 = median_interval([max(r.p50, 0.001) for r in rounds])
    p99 = median_interval([max(r.p99, 0.001) for r in rounds])
    return {
        "name": KAFKA_CEILING,
        "unit": "seconds",
        "value": p50.value,
        "low": p50.low,
        "high": p50.high,
        "p99": p99.value,
        "p99_low": p99.low,
        "p99_high": p99.high,
        "work": (
            f"Kafka's EndToEndLatency on the stack's broker: {len(rounds)} rounds of {records}"
            f" {size}-byte records, acks=all, each produced after the previous was consumed;"
            " produce -> consume p50 (p99 beside it), whole milliseconds"
        ),
    }


async def add_kafka_ceiling(results: Any, settings: Settings) -> list[str]:
    """Measure the ceiling into `results` (a `bench.report.results.Results`); returns notes
    (why it is missing, if the tool could not run)."""
    try:
        rounds = await measure(settings)
    except (CeilingError, OSError) as exc:
        return [f"Kafka's end-to-end latency ceiling was not measured: {exc}"]
    results.add("ceilings", ceiling_row(rounds))
    return []
