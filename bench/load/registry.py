"""Every load scenario, once: its name, its operation mix and whether it seeds data.

Light on purpose (no locust): the CLI, the suites and the runner read it in the main process.
Each user class in this package names its entry (`scenario = ORDERS`), so the user class, the
name and the mix are joined by reference, never by spelling a class name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    """A named workload: the operation mix its user class draws from."""

    name: str
    mix: dict[str, int]
    """Operation → weight; each operation is a method of the scenario's user class."""
    seeds: bool = True
    """Whether the run seeds accounts and the catalogue before it starts."""


BANKING = Scenario("banking", {"open": 1, "deposit": 4, "withdraw": 3, "balance": 3, "history": 1})
ORDERS = Scenario(
    "orders",
    {
        "place": 4,
        "confirm": 3,
        "ship": 3,
        "deliver": 3,
        "cancel": 1,
        "order": 2,
        "customer_orders": 2,
        "inventory": 1,
        "revenue": 1,
    },
)
CONTENTION = Scenario("contention", {"deposit": 3, "withdraw": 1})
READ_HEAVY = Scenario(
    "read-heavy", {"balance": 3, "order": 3, "customer_orders": 2, "inventory": 1, "revenue": 1}
)
READ_YOUR_WRITES = Scenario("read-your-writes", {"deposit": 1})
CALIBRATION = Scenario("calibration", {"live": 1, "health": 0}, seeds=False)

SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (BANKING, ORDERS, CONTENTION, READ_HEAVY, READ_YOUR_WRITES, CALIBRATION)
}
"""Every scenario by name, in the order the CLI lists them."""
