"""Prometheus metrics of the system under test, defined once and shared by every component."""

from __future__ import annotations

import bisect
from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram, Info

COMMANDS = Counter(
    "cqrs_commands_total", "Commands handled, by command and outcome.", ["command", "outcome"]
)
COMMAND_ATTEMPTS = Counter(
    "cqrs_command_attempts_total",
    "Attempts at running a command (a retried command counts each try).",
    ["command"],
)
COMMAND_CONFLICTS = Counter(
    "cqrs_command_conflicts_total",
    "Attempts that lost an optimistic-concurrency race (ConcurrencyError).",
    ["command"],
)
COMMAND_DURATION = Histogram(
    "cqrs_command_duration_seconds",
    "Time to handle a command, retries included.",
    ["command"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
)

# Read side: outbox relay and projections

LAG_BUCKETS = (
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
)  # fmt: skip
PROJECTION_LAG_STAGES = ("delivery", "index", "refresh", "end_to_end")
"""The `stage` label values of `cqrs_projection_lag_seconds` (bench mirrors them, a test checks)."""
PROJECTION_LAG = Histogram(
    "cqrs_projection_lag_seconds",
    "Per event, time spent in each stage the projector can see: delivery (committed→consumed:"
    " relay and Kafka together, the ack time being unknown to the consumer), index (→bulk"
    " acked), refresh (→searchable), end_to_end (committed→searchable). Without commit"
    " timestamps the start is the relay's first sight of the event.",
    ["projection", "stage"],
    buckets=LAG_BUCKETS,
)
RELAY_LAG = Histogram(
    "cqrs_relay_lag_seconds",
    "Per event, from its commit (origin=committed) or the relay's first sight of it"
    " (origin=observed, when PostgreSQL has no commit timestamps) to Kafka's ack.",
    ["origin"],
    buckets=LAG_BUCKETS,
)
PROJECTION_EVENTS = Counter(
    "cqrs_projection_events_total",
    "Events a projection applied (duplicates excluded).",
    ["projection"],
)
PROJECTION_DUPLICATES = Counter(
    "cqrs_projection_duplicates_total",
    "Redelivered events a projection recognised by version and ignored.",
    ["projection"],
)
PROJECTION_POSITION = Gauge(
    "cqrs_projection_position",
    "Global position up to which a projection has applied every event (its checkpoint).",
    ["projection"],
)
OUTBOX_BACKLOG = Gauge("cqrs_outbox_backlog", "Outbox rows not yet published to Kafka.")
RELAY_PUBLISHED = Counter(
    "cqrs_relay_published_total", "Events the relay published (Kafka acked).", ["topic"]
)
RELAY_BATCH = Histogram(
    "cqrs_relay_batch_seconds",
    "Time to claim, produce, await acks and mark one outbox batch.",
    buckets=LAG_BUCKETS,
)

# Outages: every component says which dependency it is waiting for and how often it retried

RELAY_DEPENDENCY_UP = Gauge(
    "cqrs_relay_dependency_up",
    "1 while the relay reaches the dependency, 0 while it is retrying it (an outage).",
    ["dependency"],
)
RELAY_RETRIES = Counter(
    "cqrs_relay_retries_total",
    "Calls the relay retried because the dependency was unavailable.",
    ["dependency"],
)
PROJECTOR_DEPENDENCY_UP = Gauge(
    "cqrs_projector_dependency_up",
    "1 while the projector reaches the dependency, 0 while it is retrying it (an outage).",
    ["dependency"],
)
PROJECTOR_RETRIES = Counter(
    "cqrs_projector_retries_total",
    "Calls (or whole batches) the projector retried because the dependency was unavailable.",
    ["dependency"],
)
BULK_ITEM_RETRIES = Counter(
    "cqrs_es_bulk_item_retries_total",
    "Bulk items Elasticsearch refused with a retryable status (429, 503) and that were sent again"
    " on their own.",
    ["status"],
)
API_UNAVAILABLE = Counter(
    "cqrs_api_unavailable_total",
    "Requests the api answered 503 with Retry-After, by cause: a dependency (postgres, kafka,"
    " elasticsearch) or overload (too many requests in flight).",
    ["cause"],
)
PROJECTION_CONSUMER_LAG = Gauge(
    "cqrs_projection_consumer_lag",
    "Messages a projection's consumer group has not committed yet: high watermark minus"
    " committed offset, summed over its topic's partitions (sampled about once a second).",
    ["projection"],
)
PROJECTION_POSITION_LAG = Gauge(
    "cqrs_projection_position_lag",
    "Events a projection is behind the event store: the store's head position minus the"
    " projection's checkpoint position (sampled about once a second).",
    ["projection"],
)
PROJECTION_RETENTION_GAPS = Counter(
    "cqrs_projection_retention_gaps_total",
    "Partitions a projection found with unread messages Kafka's retention had already deleted"
    " (committed offset below the log start offset); each time the projection is rebuilt from"
    " the event store.",
    ["projection"],
)
PROJECTOR_SETTINGS = Info(
    "cqrs_projector_settings",
    "The settings this projector process runs with that change its figures: how it makes writes"
    " searchable, the least gap between refreshes, whether it writes lag stamps.",
)


def observe_all(histogram: Histogram, amounts: Iterable[float]) -> None:
    """`histogram.observe(a)` for each amount, one locked increment per bucket touched.

    The projector observes four lag stages per event: at 3,000 events a batch, calling
    `observe` 12,000 times (two locked increments and a linear bucket scan each) took 15 ms,
    a fifth of the batch's time in the projection micro-benchmark (issue 14). This uses the
    histogram's own buckets and counters (private in prometheus_client, which has no batch
    call); tests/unit/test_metrics_observe_all.py holds it to `observe`'s exposition.
    """
    bounds = histogram._upper_bounds
    total = 0.0
    tally: Tally[int] = Tally()
    for amount in amounts:
        total += amount
        tally[bisect.bisect_left(bounds, amount)] += 1
    if not tally:
        return
    histogram._sum.inc(total)
    for index, count in tally.items():
        histogram._buckets[index].inc(count)
