# The README's two commands: `make bench` and `make test`. Both work from a fresh clone:
# they install the Python deps (uv) and bring the native stack up (`cqrs-bench up`).
SHELL := /bin/bash
UV ?= uv
CLI := $(UV) run cqrs-bench

.PHONY: deps up down status lint typecheck test bench

deps:
	bash bench/stack/prerequisites.sh
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

# One run directory per `make bench`: the quick micro suite and a 60 s open-model `orders` run
# at 50 req/s (a rate a 2-core machine sustains with room for noise; `cqrs-bench saturate`
# finds the real limit of yours), measured once Elasticsearch's and Kafka's JIT compilers have
# settled under that load (`--jit-warmup`, at most 5 minutes: bench/load/jit_warmup.py).
RUN_ID := $(shell date -u +%Y%m%dT%H%M%SZ)-$(shell git rev-parse --short HEAD 2>/dev/null || echo nogit)
RUN_DIR := reports/$(RUN_ID)

bench: deps up
	$(CLI) install-peers
	$(CLI) micro --suite quick --out $(RUN_DIR)/micro
	$(CLI) load --scenario orders --rate 50 --duration 60 --warmup 5 --jit-warmup 5m --out $(RUN_DIR)/load-orders
	@echo "reports: $(RUN_DIR)/micro/report.md and $(RUN_DIR)/load-orders/report.md (.html beside them)"
