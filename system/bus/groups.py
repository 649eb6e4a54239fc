"""The projectors' Kafka consumer: a member of its projection's consumer group.

Instances of a projection share the partitions of its topic through the group: each
subscribes, the group leader assigns partitions (sticky: a rebalance moves as few as it can),
and a `ConsumerRebalanceListener` hands a partition over cleanly (see
`system/projections/rebalance.py`).

Protocol: aiokafka (0.14, pinned in uv.lock) speaks only the eager rebalance protocol: every
member gives up all its partitions at each rebalance. Cooperative-sticky (KIP-429) is not
implemented (https://github.com/aio-libs/aiokafka/issues/1126, open), nor is the KIP-848
consumer protocol. What it does offer, used here, is the sticky assignor and static membership
(KIP-345, `group_instance_id`): an instance that restarts under the same id (the supervisor's
restart after a crash, `cqrs-bench restart projector`) takes its partitions back without a
rebalance of the others. The price: a static member does not leave the group when it stops,
so its partitions move only when its session expires (`SESSION_TIMEOUT_MS`, 10 s) — also
for a graceful stop. Without an instance id the consumer is a dynamic member.

Timeouts: a member that stops heartbeating (SIGKILL) is dropped after `SESSION_TIMEOUT_MS`;
the survivors rejoin within a heartbeat (`HEARTBEAT_INTERVAL_MS`) and may spend up to
`REBALANCE_TIMEOUT_MS` finishing their in-flight batch before the group moves on, so a killed
instance's partitions are taken over in about 10-15 s (bound: 30 s).
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from aiokafka.errors import KafkaError

from system.resilience import DependencyUnavailable

SESSION_TIMEOUT_MS = 10_000
HEARTBEAT_INTERVAL_MS = 1_000
REBALANCE_TIMEOUT_MS = 15_000
TIMEOUT_S = 15.0


async def group_consumer(
    bootstrap: str,
    group: str,
    *,
    instance_id: str | None = None,
    timeout_s: float = TIMEOUT_S,
) -> AIOKafkaConsumer:
    """A started consumer of `group` (a static member if `instance_id`), not yet subscribed:
    `subscribe(consumer, topic, listener)` joins the group. It never picks a position itself
    (`auto_offset_reset="none"`): the listener positions every partition it is assigned
    (`system/projections/retention.py`), so an offset Kafka no longer holds is never skipped.

    Raises `DependencyUnavailable` if Kafka cannot be reached.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        group_instance_id=instance_id,
        client_id=instance_id or "cqrs-projector",
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        request_timeout_ms=max(1, round(timeout_s * 1000)),
        partition_assignment_strategy=(StickyPartitionAssignor, RoundRobinPartitionAssignor),
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
        rebalance_timeout_ms=REBALANCE_TIMEOUT_MS,
    )
    try:
        await consumer.start()
    except KafkaError as exc:
        await consumer.stop()
        raise DependencyUnavailable("kafka", f"{type(exc).__name__}: {exc}") from exc
    return consumer


def subscribe(consumer: AIOKafkaConsumer, topic: str, listener: ConsumerRebalanceListener) -> None:
    """Join the consumer's group for `topic`; `listener` hears every revoke and assignment."""
    consumer.subscribe([topic], listener=listener)
