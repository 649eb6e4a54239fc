"""A projection's checkpoint when its instances each own some partitions of its topic.

The checkpoint document (`<prefix>-projection-positions`, id = projection name) keeps, besides
`position`, each partition's watermark under `partitions` (partition number -> the highest
watermark the projection has applied every event before, in that partition). An instance
writes only the partitions it owns: it reads the document, merges, and writes it back only if
nobody wrote it meanwhile (`if_seq_no`; on a conflict it reads again — the Elasticsearch
build here has no scripting for an atomic update):

- each partition's watermark only moves forward (an instance that lost a partition and writes
  late cannot pull it back);
- `position` becomes the lowest watermark over all the topic's partitions (0 while one has
  none), and it too only moves forward.

The relay's watermark W promises every event at position <= W precedes it in every partition,
so the lowest watermark over all partitions is a position up to which every event was applied
— the same meaning `position` always had; readers (`wait_for_position`, the audit, the lag
probes) read it unchanged. A document written whole (`ElasticsearchReadStore.save_position`,
e.g. a reset to 0) drops the partitions' watermarks with it. Projectors reach it through the
store's `save_watermarks` (the `ProjectionStore` port).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from elasticsearch import AsyncElasticsearch, BadRequestError, ConflictError, NotFoundError

from system.readstore.bulk import guarded
from system.readstore.mappings import POSITIONS
from system.resilience import DependencyUnavailable

CONFLICT_RETRIES = 20
"""Instances of one projection update its document concurrently; a conflict reads it again."""


@guarded
async def ensure_partitions_field(client: AsyncElasticsearch, index: str) -> None:
    """Add `partitions` to an existing checkpoint index's strict mapping (a no-op once there)."""
    await client.indices.put_mapping(index=index, properties=POSITIONS)


async def save_watermarks(
    client: AsyncElasticsearch,
    index: str,
    name: str,
    watermarks: Mapping[int, int],
    partitions: Sequence[int],
) -> int:
    """Merge these partitions' watermarks into `name`'s checkpoint; returns its position.

    `partitions` are all the topic's partitions (the position is the lowest over them). A
    checkpoint index created before `partitions` was mapped gets the field on first use.
    """
    try:
        return await _merge(client, index, name, watermarks, partitions)
    except BadRequestError:
        await ensure_partitions_field(client, index)
        return await _merge(client, index, name, watermarks, partitions)


@guarded
async def _merge(
    client: AsyncElasticsearch,
    index: str,
    name: str,
    watermarks: Mapping[int, int],
    partitions: Sequence[int],
) -> int:
    for _ in range(CONFLICT_RETRIES):
        try:
            found = await client.get(index=index, id=name)
        except NotFoundError:
            found = None
        source = found["_source"] if found is not None else {}
        merged = merge(source, watermarks, partitions)
        if found is not None and merged == source:
            return int(merged["position"])
        document = {**merged, "projection": name, "updated_at": datetime.now(UTC).isoformat()}
        try:
            if found is None:
                await client.create(index=index, id=name, document=document)
            else:
                await client.index(
                    index=index,
                    id=name,
                    document=document,
                    if_seq_no=found["_seq_no"],
                    if_primary_term=found["_primary_term"],
                )
        except ConflictError:
            continue
        return int(merged["position"])
    raise DependencyUnavailable("elasticsearch", f"{name}: checkpoint kept changing under us")


def merge(
    source: Mapping[str, Any], watermarks: Mapping[int, int], partitions: Sequence[int]
) -> dict[str, Any]:
    """The checkpoint `source` with these watermarks merged in: per partition the highest;
    `position` the lowest over `partitions` (0 while one has none), never moving back."""
    parts = {str(p): int(w) for p, w in (source.get("partitions") or {}).items()}
    for p, w in watermarks.items():
        parts[str(p)] = max(parts.get(str(p), 0), w)
    low = min((parts.get(str(p), 0) for p in partitions), default=0)
    position = max(int(source.get("position") or 0), low)
    return {**source, "partitions": parts, "position": position}
