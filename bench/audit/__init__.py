"""The consistency audit: what was acknowledged is stored, and every read model is exactly
what an independent reference model folds from the event store, applied in order.

`cqrs-bench load` runs it at the end of a run; `cqrs-bench audit` runs it standalone.
"""

from __future__ import annotations

from bench.audit.checks import Check, ConflictCounts
from bench.audit.run import audit, audit_live, audit_streams

__all__ = ["Check", "ConflictCounts", "audit", "audit_live", "audit_streams"]
