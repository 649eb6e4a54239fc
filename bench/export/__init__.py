"""Exports of a run: Pushgateway pushes, Grafana dashboards (as code) and annotations.

For the load runner: `push_load(results, settings.pushgateway_url)` pushes a load run's summary;
`annotate(settings, text, tags, start, end)` marks the run (tags `RUN_TAGS` + run id) and each
fault (`FAULT_TAGS` + service) on Grafana when one runs at CQRS_GRAFANA_URL.
"""

from __future__ import annotations

from bench.export.grafana import FAULT_TAGS, RUN_TAGS, GrafanaUnavailable, annotate
from bench.export.pushgateway import push, push_load

__all__ = ["FAULT_TAGS", "RUN_TAGS", "GrafanaUnavailable", "annotate", "push", "push_load"]
