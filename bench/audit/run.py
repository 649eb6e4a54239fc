"""One audit: load a footprint of streams, wait for the read side, read its documents, check.

The footprint is a load run's (every stream it seeded or sent a command to, whole: other
writers sharing the stack do not make it fail) or every stream written after a position.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from bench.audit.checks import (
    Check,
    ConflictCounts,
    acknowledged_in_store,
    balances_never_negative,
    conflicts_counted,
    conflicts_genuine,
    positions_follow_versions,
    stock_never_negative,
)
from bench.audit.live import live_docs, load_streams, stream_ids_since
from bench.audit.readmodels import applied_in_order, matches_reference, versions_current
from bench.audit.reference import REFERENCE_MODELS, Fields, ReferenceModel, decode
from bench.load.samples import Sample, read_samples, sample_files
from bench.load.seeding import seeded_ids
from system.bootstrap import open_event_store, open_read_store
from system.config import Settings
from system.domain.recorded import RecordedEvent
from system.eventstore.postgres import PostgresEventStore
from system.readstore.elasticsearch import ElasticsearchReadStore

SETTLE_ROUNDS = 3
"""Times a document found ahead of its loaded stream (another writer appended meanwhile)
makes the audit re-read that stream and document before judging."""
SEED_FILE = "seed.json"


class AuditInputError(ValueError):
    """The footprint to audit cannot be read (e.g. a RUN_DIR without samples or seed)."""


async def audit(
    store: PostgresEventStore,
    read_store: ElasticsearchReadStore,
    samples: list[Sample],
    *,
    seeded: Iterable[str],
    conflicts: ConflictCounts | None,
    catch_up_timeout_s: float = 60.0,
) -> list[Check]:
    """Every check over a load run's footprint (what `cqrs-bench load` calls at the end)."""
    ids = [
        *seeded,
        *(s.aggregate_id for s in samples if s.aggregate_id),
        *(s.conflict_stream for s in samples if s.conflict_stream),
    ]
    return await audit_streams(
        store,
        read_store,
        ids,
        samples,
        conflicts=conflicts,
        catch_up_timeout_s=catch_up_timeout_s,
    )


async def audit_streams(
    store: PostgresEventStore,
    read_store: ElasticsearchReadStore,
    ids: Iterable[str],
    samples: Sequence[Sample] = (),
    *,
    conflicts: ConflictCounts | None = None,
    catch_up_timeout_s: float = 60.0,
) -> list[Check]:
    """Every check over the given streams, after waiting for the read side to reach their
    last position; the sample checks only when there are samples."""
    streams = await load_streams(store.pool, ids)
    last = _last_position(streams.values())
    types = {events[0].aggregate_type for events in streams.values() if events}
    models = [m for m in REFERENCE_MODELS.values() if m.aggregate_type in types]
    names = [m.name for m in models]
    caught_up = await read_store.wait_for_position(names, last, catch_up_timeout_s)
    docs = {m.name: await live_docs(read_store, m.name, _ids_of(m, streams)) for m in models}
    settled = await _settle(store, read_store, models, streams, docs, catch_up_timeout_s)
    last = max(last, _last_position(streams.values()))
    decoded = {aggregate_id: decode(events) for aggregate_id, events in streams.items()}
    checks = [
        _caught_up(caught_up and settled, names, last, len(streams), catch_up_timeout_s),
        acknowledged_in_store(samples, streams),
        positions_follow_versions(streams),
        balances_never_negative(decoded),
        stock_never_negative(decoded),
        versions_current(models, decoded, docs),
        applied_in_order(models, decoded, docs),
        *(matches_reference(m, decoded, docs) for m in models),
    ]
    if samples:
        checks.append(conflicts_genuine(samples, streams))
    if conflicts is not None:
        checks.append(conflicts_counted(samples, streams, conflicts))
    return checks


async def audit_live(
    settings: Settings,
    *,
    since: int = 0,
    run_dir: Path | None = None,
    catch_up_timeout_s: float = 60.0,
) -> tuple[int, list[Check]]:
    """The standalone audit (`cqrs-bench audit`): a run's footprint when `run_dir` is given,
    else every stream with an event after position `since`. Returns (streams, checks)."""
    samples, seeded = run_footprint(run_dir) if run_dir is not None else ([], [])
    store = await open_event_store(settings, min_size=1, max_size=4)
    read_store = open_read_store(settings)
    try:
        if run_dir is not None:
            ids = sorted(
                {
                    *seeded,
                    *(s.aggregate_id for s in samples if s.aggregate_id),
                    *(s.conflict_stream for s in samples if s.conflict_stream),
                }
            )
        else:
            ids = await stream_ids_since(store.pool, since)
        checks = await audit_streams(
            store, read_store, ids, samples, catch_up_timeout_s=catch_up_timeout_s
        )
        return len(ids), checks
    finally:
        await store.close()
        await read_store.close()


def run_footprint(run_dir: Path) -> tuple[list[Sample], list[str]]:
    """A load run's samples and the ids it seeded, from its directory."""
    if not run_dir.is_dir():
        raise AuditInputError(f"RUN_DIR {run_dir} is not a directory")
    files = sample_files(run_dir)
    seed_path = run_dir / SEED_FILE
    if not files and not seed_path.exists():
        raise AuditInputError(
            f"RUN_DIR {run_dir} holds neither samples-*.jsonl nor {SEED_FILE}:"
            " give the directory a `cqrs-bench load` run wrote"
        )
    seeded = seeded_ids(json.loads(seed_path.read_text())) if seed_path.exists() else []
    return list(read_samples(files)), seeded


def _ids_of(model: ReferenceModel, streams: dict[str, list[RecordedEvent]]) -> list[str]:
    return sorted(
        i
        for i, events in streams.items()
        if events and events[0].aggregate_type == model.aggregate_type
    )


def _last_position(streams: Iterable[Sequence[RecordedEvent]]) -> int:
    return max((e.position for events in streams for e in events), default=0)


async def _settle(
    store: PostgresEventStore,
    read_store: ElasticsearchReadStore,
    models: Sequence[ReferenceModel],
    streams: dict[str, list[RecordedEvent]],
    docs: dict[str, dict[str, Fields]],
    timeout_s: float,
) -> bool:
    """Re-read the streams whose document is ahead of what was loaded (written meanwhile),
    wait for the read side to reach them, and re-read their documents; False if it did not."""
    reached = True
    for _ in range(SETTLE_ROUNDS):
        ahead = sorted(
            {
                aggregate_id
                for by_id in docs.values()
                for aggregate_id, doc in by_id.items()
                if isinstance(doc.get("version"), int)
                and doc["version"] > len(streams.get(aggregate_id, []))
            }
        )
        if not ahead:
            break
        streams.update(await load_streams(store.pool, ahead))
        last = _last_position(streams[i] for i in ahead)
        reached = await read_store.wait_for_position([m.name for m in models], last, timeout_s)
        moved = {i: streams[i] for i in ahead}
        for model in models:
            docs[model.name].update(await live_docs(read_store, model.name, _ids_of(model, moved)))
    return reached


def _caught_up(
    passed: bool, names: Sequence[str], last: int, streams: int, timeout_s: float
) -> Check:
    listed = ", ".join(names) or "no read model"
    if passed:
        detail = f"{streams} streams; {listed} reached position {last}, the footprint's last"
    else:
        detail = f"{streams} streams; not all of {listed} reached position {last} in {timeout_s:g}s"
    return Check("projections_caught_up", passed, detail)
