"""The locustfile `cqrs-bench load` runs: every user class (the command line picks one)."""

from bench.scenarios import runtime
from bench.scenarios.banking import BankingUser
from bench.scenarios.calibration import CalibrationUser
from bench.scenarios.contention import ContentionUser
from bench.scenarios.orders import OrdersUser
from bench.scenarios.read_heavy import ReadHeavyUser
from bench.scenarios.read_your_writes import ReadYourWritesUser

runtime.install()

__all__ = [
    "BankingUser",
    "CalibrationUser",
    "ContentionUser",
    "OrdersUser",
    "ReadHeavyUser",
    "ReadYourWritesUser",
]
