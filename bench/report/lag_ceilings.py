"""Lines under the lag table: lag stages beside the raw services' ceilings of the same run.

The ceilings are measured by `bench/lag/ceiling.py` (Kafka) and `bench/lag/es_ceiling.py`
(Elasticsearch); here only their `ceilings` rows are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.report.constants import ES_CEILING, ES_STAGES, KAFKA_CEILING, LagStage


def lag_lines(lag: Sequence[Mapping[str, Any]], ceilings: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each projection's kafka stage beside Kafka's own latency, then its index and refresh
    stages beside Elasticsearch's."""
    ceiling = next((c for c in ceilings if c.get("name") == KAFKA_CEILING), None)
    stages = [r for r in lag if r.get("stage") == LagStage.KAFKA]
    if ceiling is None or not stages:
        return _es_lines(lag, ceilings)
    lines = [
        f"Kafka stage vs Kafka's own end-to-end latency (EndToEndLatency, same broker, acks=all):"
        f" ceiling p50 {_ms(ceiling['value'])}, p99 {_ms(ceiling.get('p99'))}"
    ]
    for r in stages:
        p50, p99 = r.get("p50"), r.get("p99")
        lines.append(
            f"{r['projection']}: kafka stage p50 {_ms(p50)} ({_times(p50, ceiling['value'])}),"
            f" p99 {_ms(p99)} ({_times(p99, ceiling.get('p99'))})"
        )
    return lines + _es_lines(lag, ceilings)


def _es_lines(lag: Sequence[Mapping[str, Any]], ceilings: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each projection's index and refresh stages beside the ceiling's bulk and refresh steps."""
    ceiling = next((c for c in ceilings if c.get("name") == ES_CEILING), None)
    rows = {(r["projection"], r["stage"]): r for r in lag if r.get("stage") in ES_STAGES}
    if ceiling is None or not rows:
        return []
    mode = ceiling.get("refresh_mode", "explicit")
    bulk = f"bulk p50 {_ms(ceiling.get('index_p50'))}, p99 {_ms(ceiling.get('index_p99'))}"
    if mode == "explicit":
        stages = ES_STAGES
        steps = (
            f"{bulk}; refresh p50 {_ms(ceiling.get('refresh_p50'))}, p99"
            f" {_ms(ceiling.get('refresh_p99'))}"
        )
    else:  # the bulk returned once its writes were searchable: the index stage holds that
        stages = (LagStage.INDEX,)
        how = (
            "refresh=true (each bulk refreshes its shard"
            if mode == "immediate"
            else "refresh=wait_for (each bulk waits for the index's scheduled refresh"
        )
        steps = f"{bulk} with {how}, as the projectors' did)"
    lines = [
        "Index and refresh stages vs Elasticsearch's own bulk + refresh (same node, client,"
        f" mappings and doc size): ceiling {steps}"
    ]
    for projection in sorted({p for p, _ in rows}):
        parts = []
        for stage in stages:
            r = rows.get((projection, stage))
            if r is None:
                continue
            p50, p99 = r.get("p50"), r.get("p99")
            parts.append(
                f"{stage} p50 {_ms(p50)} ({_times(p50, ceiling.get(f'{stage}_p50'))}),"
                f" p99 {_ms(p99)} ({_times(p99, ceiling.get(f'{stage}_p99'))})"
            )
        lines.append(f"{projection}: " + "; ".join(parts))
    return lines


def _ms(x: Any) -> str:
    return "-" if x is None else f"{x * 1e3:.1f} ms"


def _times(x: Any, ceiling: Any) -> str:
    if x is None or not ceiling:
        return "-"
    return f"{x / ceiling:.1f}x the ceiling"
