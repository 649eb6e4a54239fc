"""What a rebuilt read-model index covers of Kafka: recorded in its mapping's `_meta`.

A rebuild reads the log start offsets of every partition of its topic before it begins.
Everything below them was published, hence committed to the event store, before the rebuild
began, so it is in the rebuilt index; everything from them on is still in Kafka. The rebuild
records them as `_meta.covered_log_starts` ({"topic:partition": offset}) on the index it
rebuilt, so an instance that finds a retention gap later can tell from the live index whether
a rebuild already repaired it (`system/projections/retention.py`). An index no rebuild wrote
(the first one, `-0`) covers nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from elasticsearch import NotFoundError

from system.readstore.bulk import guarded
from system.readstore.elasticsearch import ElasticsearchReadStore

META_KEY = "covered_log_starts"


def partition_key(topic: str, partition: int) -> str:
    """The key of a topic-partition in the record."""
    return f"{topic}:{partition}"


def covers(covered: Mapping[str, int], current_starts: Mapping[str, int]) -> bool:
    """Whether an index that covers everything below `covered` holds all a gap lost on the
    partitions whose logs now start at `current_starts`: each one's recorded start is at least
    its current one. A partition not recorded is not covered."""
    return all(covered.get(key, -1) >= start for key, start in current_starts.items())


@guarded
async def record_covered(
    store: ElasticsearchReadStore, index: str, starts: Mapping[str, int]
) -> None:
    """Record on `index` that it covers everything below the log starts `starts`."""
    await store.client.indices.put_mapping(index=index, meta={META_KEY: dict(starts)})


@guarded
async def covered_starts(store: ElasticsearchReadStore, name: str) -> dict[str, int]:
    """The log starts the index behind `name`'s alias covers; none unless it is one index."""
    try:
        found = await store.client.indices.get_mapping(index=store.alias(name))
    except NotFoundError:
        return {}
    if len(found.body) != 1:
        return {}
    (mapping,) = found.body.values()
    recorded = mapping["mappings"].get("_meta", {}).get(META_KEY, {})
    return {key: int(offset) for key, offset in recorded.items()}
