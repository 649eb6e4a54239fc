"""Load runs end to end: a run (seed, locust, lag probe, audit, faults, results), its live
display, and the fault matrix that carries out one run per fault of a suite.

The layer above the measuring packages (load, lag, audit, faults, export): it is the only one
that puts them together.
"""
