"""Prometheus metrics of the system under test, defined once and shared by every component."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
