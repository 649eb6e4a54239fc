"""Projections on the real stack: every read model after a workload, and redelivery is harmless.

Other sessions may write to the same event store meanwhile, so the redelivery check allows a
doc to change only to a newer version; this test's own docs must stay byte for byte equal.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from system.app.commands import CommandHandlers
from system.bootstrap import open_read_store
from system.bus.envelope import topic_for, topics
from system.bus.kafka import ensure_topics
from system.config import Settings
from system.domain import commands as c
from system.domain.events import OrderItem
from system.projections import PROJECTIONS
from system.projections.runner import group_id, run_projector
from system.readstore.elasticsearch import Doc, ElasticsearchReadStore
from tests.integration.readside_fixtures import Background, caught_up, isolated, new_id
from tests.integration.readside_workload import Workload, mismatches

pytestmark = pytest.mark.integration


async def test_an_order_appears_in_every_read_model_at_its_position(
    commands: CommandHandlers, read_store: ElasticsearchReadStore, projector: None
) -> None:
    customer, product, order = new_id("cust"), new_id("prod"), new_id("order")
    await commands.handle(c.RegisterCustomer(customer_id=customer, name="Rahim", email="r@x.io"))
    await commands.handle(c.AddProduct(product_id=product, name="Tea", price=250, stock=10))
    placed = await commands.handle(
        c.PlaceOrder(
            order_id=order,
            customer_id=customer,
            items=(OrderItem(product_id=product, quantity=4, price=250),),
            shipping_address="Dhaka",
        )
    )
    await caught_up(read_store, placed.position)
    view = await read_store.get_order(order)
    assert view is not None
    assert (view["status"], view["customer_name"], view["total"]) == ("pending", "Rahim", 1000)
    history = await read_store.customer_orders(customer)
    assert [(o["order_id"], o["customer_name"]) for o in history] == [(order, "Rahim")]
    stock = await read_store.get_inventory(product)
    assert stock is not None
    assert (stock["on_hand"], stock["reserved"], stock["remaining"]) == (10, 4, 6)
    today = datetime.now(UTC).date()
    (day,) = await read_store.revenue(today, today)
    assert day["day"] == today.isoformat() and day["revenue"] >= 1000 and day["orders"] >= 1

    for command in (
        c.ConfirmOrder(order_id=order),
        c.ShipOrder(order_id=order, tracking_number="TRK-1"),
        c.DeliverOrder(order_id=order),
    ):
        result = await commands.handle(command)
        await caught_up(read_store, result.position)
    view = await read_store.get_order(order)
    stock = await read_store.get_inventory(product)
    assert view is not None and stock is not None
    assert (view["status"], view["tracking_number"], view["version"]) == ("delivered", "TRK-1", 4)
    assert (stock["reserved"], stock["sold"], stock["remaining"]) == (0, 4, 6)


async def test_accounts_and_a_mixed_workload_match_what_was_acknowledged(
    commands: CommandHandlers, read_store: ElasticsearchReadStore, projector: None
) -> None:
    workload = Workload(commands, lanes=5)
    await workload.setup()
    await workload.run(300)
    await caught_up(read_store, workload.last_position)
    for name, expected in workload.expected().items():
        docs = await read_store.snapshot(read_store.alias(name))
        assert mismatches(expected, docs) == [], name


async def _rewind(settings: Settings, name: str) -> None:
    """Commit each partition's beginning offset for the projection's group."""
    topic = topic_for(PROJECTIONS[name].aggregate_type, settings.kafka_topic_prefix)
    partitions = await ensure_topics(
        settings.kafka_bootstrap, topics(settings.kafka_topic_prefix), 1
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id(settings, name),
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions[topic]]
        consumer.assign(tps)
        beginning = await consumer.beginning_offsets(tps)
        await consumer.commit(dict(beginning))
    finally:
        await consumer.stop()


async def _drained(settings: Settings, name: str) -> bool:
    topic = topic_for(PROJECTIONS[name].aggregate_type, settings.kafka_topic_prefix)
    partitions = await ensure_topics(
        settings.kafka_bootstrap, topics(settings.kafka_topic_prefix), 1
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group_id(settings, name)
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions[topic]]
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            committed = await consumer.committed(tp)
            if committed is None or committed < ends[tp]:
                return False
        return True
    finally:
        await consumer.stop()


async def test_reconsuming_every_partition_from_the_start_changes_no_document(
    settings: Settings, commands: CommandHandlers, relay: None
) -> None:
    own = isolated(settings, "redeliver")
    store = open_read_store(own)
    names = list(PROJECTIONS)
    try:
        workload = Workload(commands, lanes=4, seed=11)
        await workload.setup()
        await workload.run(200)
        first = Background()
        first.start(run_projector(own, names, first.stop))
        await caught_up(store, workload.last_position)
        await first.close()
        before = {n: await store.snapshot(store.alias(n)) for n in names}
        assert all(before.values())

        for name in names:
            await _rewind(own, name)
        again = Background()
        again.start(run_projector(own, names, again.stop))
        try:
            for name in names:
                for _ in range(600):
                    if await _drained(own, name):
                        break
                    await asyncio.sleep(0.1)
                else:
                    pytest.fail(f"{name} never re-consumed its topic")
        finally:
            await again.close()
        after = {n: await store.snapshot(store.alias(n)) for n in names}
        expected = workload.expected()
        for name in names:
            assert rewritten(before[name], after[name]) == [], name
            ours = {doc_id: before[name][doc_id] for doc_id in expected[name]}
            assert {doc_id: after[name][doc_id] for doc_id in ours} == ours, name
    finally:
        await store.close()


def rewritten(before: dict[str, Doc], after: dict[str, Doc]) -> list[str]:
    """Docs that vanished or changed without a newer event (other sessions keep writing)."""
    bad = []
    for doc_id, doc in before.items():
        new = after.get(doc_id)
        if new is None or (new != doc and new["_version"] <= doc["_version"]):
            bad.append(f"{doc_id}: {doc} -> {new}")
    return bad[:10]
