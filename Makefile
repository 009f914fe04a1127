# Two entry points that work on a fresh machine with only python3:
#   make run   set up, then allocate the shipped 2026 sample scenario
#   make test  set up, then run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint setup clean docs bench

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,ray]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/allocate scenarios/liuzhou-2026-q1.yaml

test: setup
	$(BIN)/python -m pytest -n 2

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Regenerate the docs that are generated from the code (tests fail when they are stale).
docs: setup
	$(BIN)/python -m allocator.inputs.dictionary
	$(BIN)/python -m allocator.inputs.scenario > docs/scenario.schema.json
	$(BIN)/python -c 'from allocator.policy.model import json_schema_text as s; \
	open("docs/policy-model.schema.json", "w", encoding="utf-8").write(s())'

# Time every fairness rule on 1,500, 10,000 and 100,000 synthetic firms, beside HiGHS's LP
# relaxation and PuLP + CBC; rewrites benchmarks/results/latest.json, the tables of
# docs/performance.md and docs/img/bench-scaling.svg (docs/performance.md).
bench: setup
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
