"""Query handlers wait on projections that exist."""

from __future__ import annotations

from system.app import queries
from system.projections import PROJECTIONS


def test_every_view_a_query_waits_on_is_a_projection() -> None:
    views = (
        queries.ORDER_VIEWS
        + queries.CUSTOMER_VIEWS
        + queries.INVENTORY_VIEWS
        + queries.REVENUE_VIEWS
        + queries.ACCOUNT_VIEWS
    )
    assert set(views) <= set(PROJECTIONS)
