"""Kafka adapters: topic setup, the relay's producer (librdkafka) and the projectors' consumer.

The producer is confluent-kafka (librdkafka), chosen by measurement: 100,000 keyed 300-byte
messages with acks=all and idempotence, in batches of 1,000, went at 210-250k msgs/s against
aiokafka's 38-52k on the same broker. `produce` only enqueues; waiting for the acks (`flush`)
runs in a worker thread, so the event loop never blocks. Consumers are aiokafka (native
asyncio), with partitions assigned manually: no group rebalance to wait for after a restart,
and the group id still holds the committed offsets.

Outages: every client has a request timeout, and the producer gives up on a message after
`timeout_s` (`message.timeout.ms`); a broker that cannot be reached then surfaces as
`DependencyUnavailable("kafka")` (`PublishError` is one), for the caller to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError as AIOKafkaError
from aiokafka.errors import TopicAlreadyExistsError
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from system.resilience import DependencyUnavailable

FLUSH_SLICE_S = 1.0
METADATA_WAIT_S = 15.0
LINGER_MS = 1
"""The relay's `linger.ms`: how long librdkafka waits to fill a batch."""
TIMEOUT_S = 15.0


class PublishError(DependencyUnavailable):
    """Kafka did not acknowledge every message of a batch."""

    def __init__(self, detail: str) -> None:
        super().__init__("kafka", detail)


def is_unavailable(exc: BaseException) -> bool:
    """Whether a Kafka client error (either driver) that escaped an adapter means "unavailable"."""
    return isinstance(exc, AIOKafkaError | KafkaException)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


@dataclass(frozen=True)
class Outgoing:
    """One message to produce; `partition` None lets the key choose."""

    topic: str
    value: bytes
    key: bytes | None = None
    partition: int | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int,
    *,
    timeout_s: float = TIMEOUT_S,
    replication_factor: int = 1,
) -> dict[str, list[int]]:
    """Create the topics that do not exist yet (`replication_factor` replicas each); returns
    each topic's partitions.

    Raises `DependencyUnavailable` if Kafka cannot be reached or does not describe them in time.
    """
    try:
        return await _ensure_topics(
            bootstrap, list(topics), partitions, timeout_s, replication_factor
        )
    except AIOKafkaError as exc:
        raise DependencyUnavailable("kafka", f"{type(exc).__name__}: {exc}") from exc


async def _ensure_topics(
    bootstrap: str, wanted: list[str], partitions: int, timeout_s: float, replication_factor: int
) -> dict[str, list[int]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=_ms(timeout_s))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=t, num_partitions=partitions, replication_factor=replication_factor)
            for t in wanted
            if t not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        deadline = time.monotonic() + METADATA_WAIT_S
        while True:
            described = await admin.describe_topics(wanted)
            found = {
                d["topic"]: sorted(p["partition"] for p in d["partitions"])
                for d in described
                if d["error_code"] == 0 and d["partitions"]
            }
            if len(found) == len(wanted) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    absent = sorted(set(wanted) - set(found))
    if absent:
        raise DependencyUnavailable("kafka", f"topics {absent} have no partitions yet")
    return found


def producer_config(
    bootstrap: str, *, linger_ms: int = LINGER_MS, timeout_s: float = TIMEOUT_S
) -> dict[str, str | int | bool]:
    """The relay's librdkafka settings (the Kafka produce ceiling reuses them, so they match)."""
    return {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": linger_ms,
        "partitioner": "murmur2_random",
        "message.timeout.ms": _ms(timeout_s),
        "socket.timeout.ms": _ms(timeout_s),
    }


class KafkaPublisher:
    """An idempotent producer (acks=all); `publish` returns once Kafka acked the whole batch."""

    def __init__(
        self, bootstrap: str, *, linger_ms: int = LINGER_MS, timeout_s: float = TIMEOUT_S
    ) -> None:
        self._config = producer_config(bootstrap, linger_ms=linger_ms, timeout_s=timeout_s)
        self._producer = Producer(self._config)
        self._errors: list[KafkaError] = []

    def _delivered(
        self, acked: list[float], index: int, error: KafkaError | None, _: Message
    ) -> None:
        if error is not None:
            self._errors.append(error)
        else:
            acked[index] = time.time()

    async def publish(self, messages: Sequence[Outgoing]) -> list[float]:
        """Produce every message and wait for all acks; raise PublishError if any failed.

        Returns, per message, when its ack reached us (epoch seconds, taken in the delivery
        callback). A fatal producer error (e.g. the broker lost its idempotence state) replaces
        the producer, so the caller's retry starts a fresh idempotent session.
        """
        try:
            return await self._publish(messages)
        except KafkaException as exc:
            await asyncio.to_thread(self._producer.purge)
            self._producer = Producer(self._config)
            raise PublishError(f"producer failed, replaced: {exc}") from exc

    async def _publish(self, messages: Sequence[Outgoing]) -> list[float]:
        self._errors.clear()
        acked = [0.0] * len(messages)
        for index, m in enumerate(messages):
            while True:
                try:
                    self._producer.produce(
                        m.topic,
                        m.value,
                        m.key,
                        partition=-1 if m.partition is None else m.partition,
                        on_delivery=partial(self._delivered, acked, index),
                        headers=list(m.headers),
                    )
                    break
                except BufferError:
                    await asyncio.to_thread(self._producer.poll, 0.05)
        while await asyncio.to_thread(self._producer.flush, FLUSH_SLICE_S):
            pass
        if self._errors:
            raise PublishError(f"{len(self._errors)} messages failed: {self._errors[0]}")
        return acked

    async def close(self) -> None:
        await asyncio.to_thread(self._producer.flush, 10.0)


def time_header(t: float) -> bytes:
    """Epoch seconds as a header value (ASCII), e.g. for `committed_at`."""
    return repr(t).encode()


async def assigned_consumer(
    bootstrap: str,
    group: str,
    topic: str,
    partitions: Sequence[int],
    *,
    timeout_s: float = TIMEOUT_S,
) -> AIOKafkaConsumer:
    """A started consumer of the given partitions of `topic`, resuming from `group`'s offsets
    (from the earliest where it has none): the benchmarks' raw reads. Projectors use group
    consumers positioned by their retention check (`system/bus/groups.py`).

    Raises `DependencyUnavailable` if Kafka cannot be reached.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        request_timeout_ms=_ms(timeout_s),
    )
    try:
        await consumer.start()
    except AIOKafkaError as exc:
        await consumer.stop()
        raise DependencyUnavailable("kafka", f"{type(exc).__name__}: {exc}") from exc
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    return consumer
