"""The supervisor's pure parts: restart backoff, exit description, status formatting."""

from __future__ import annotations

import signal

from bench.stack.lifecycle import describe_exit
from bench.stack.supervisor import (
    INITIAL_BACKOFF_S,
    MAX_BACKOFF_S,
    STABLE_AFTER_S,
    exit_of,
    next_backoff,
)


def test_backoff_doubles_to_its_cap_while_the_child_keeps_dying_young() -> None:
    current, delays = INITIAL_BACKOFF_S, []
    for _ in range(7):
        delay, current = next_backoff(current, uptime_s=1.0)
        delays.append(delay)
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert current == MAX_BACKOFF_S


def test_a_child_that_stayed_up_long_enough_restarts_at_the_initial_delay() -> None:
    delay, following = next_backoff(MAX_BACKOFF_S, uptime_s=STABLE_AFTER_S)
    assert (delay, following) == (INITIAL_BACKOFF_S, 2 * INITIAL_BACKOFF_S)


def test_exits_name_the_signal_or_the_code() -> None:
    killed = exit_of(-signal.SIGKILL, started=10.0, now=12.5)
    assert (killed.code, killed.signal, killed.uptime_s) == (None, "SIGKILL", 2.5)
    failed = exit_of(3, started=10.0, now=10.0)
    assert (failed.code, failed.signal) == (3, None)


def test_status_describes_the_last_exit() -> None:
    last = {"code": None, "signal": "SIGKILL", "at": 100.0, "uptime_s": 3.14}
    assert describe_exit(last, now=142.0) == "SIGKILL 42s ago (up 3.1s)"
    assert describe_exit({"code": 1, "signal": None, "at": 100.0, "uptime_s": 0.2}, now=100.0) == (
        "code 1 0s ago (up 0.2s)"
    )
    assert describe_exit(None) == "-"
