"""Process-wide settings of the system's long-running services."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then leave every object alive now to the permanent generation.

    A service keeps what it built at startup (modules, classes, the app, its clients) for its
    whole life, yet every full collection walks all of it again: the api's took 95-108 ms at
    175 orders/s, every 25-30 s, and each stalled every request in flight (`gc.callbacks`
    timings beside the load run's per-request latencies). Frozen, those objects are never
    scanned again; objects allocated later are collected as before. The relay and the projector
    freeze theirs too, once set up. In their own processes it could not be told from noise (two
    alternated pairs at 50 orders/s: end-to-end lag p99 98-119 ms unfrozen, 98-117 ms frozen);
    inside pytest, whose heap is far larger, full collections during a 3,000-event batch nearly
    doubled its decoding time (16 ms against 9 ms frozen), which is why the micro harness
    freezes too (`Runner.measure`).
    """
    gc.collect()
    gc.freeze()
