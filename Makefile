# The README's two commands: `make bench` and `make test`. Both work from a fresh clone:
# they install the Python deps (uv) and bring the native stack up (`cqrs-bench up`).
SHELL := /bin/bash
UV ?= uv
CLI := $(UV) run cqrs-bench

.PHONY: deps up down status lint typecheck test bench

deps:
	$(UV) sync --frozen

up: deps
	$(CLI) up

down:
	$(CLI) down

status:
	$(CLI) status

lint: deps
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck: deps
	$(UV) run mypy

test: deps up
	$(CLI) install-peers
	$(UV) run ruff check . && $(UV) run ruff format --check . && $(UV) run mypy && $(UV) run pytest

# Extend with the benchmark suites (keep `up` first).
bench: deps up
	$(CLI) status
	$(CLI) install-peers
	$(CLI) micro --suite quick
	$(CLI) load --scenario orders --rate 50 --duration 60 --out reports/load-orders-latest
