"""`python -m bench.cli`: the same as the `cqrs-bench` script."""

from __future__ import annotations

from bench.cli import main

main()
