"""Faults beside a load run: plans, actions, recovery, version probe, suites and the matrix."""
