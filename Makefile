# Two entry points that work on a fresh machine with only python3:
#   make run   set up, then allocate the shipped 2026 sample scenario
#   make test  set up, then run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint setup clean docs bench messages serve web-screenshots

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

# The quick subset while working: every test but those marked slow (whole-sample runs, the
# notebooks, the wheel) and the browser's (pyproject.toml [tool.pytest.ini_options] markers).
test-fast: setup
	$(BIN)/python -m pytest -n 2 -q -m "not slow and not browser"

# The workbench on http://127.0.0.1:8000/ (docs/web.md); runs go to the same ledger as `allocate run`.
serve: setup
	$(BIN)/allocate serve --workspace workbench --models models

# Run the browser tests and keep their screenshots for docs/web.md and docs/report.md (the
# workbench's, and the report, compare page, chart and refused workbook in zh and en).
web-screenshots: setup
	ALLOCATE_WEB_SCREENSHOTS=docs/img ALLOCATE_SCREENSHOTS=docs/img $(BIN)/python -m pytest -q \
		-p no:cacheprovider tests/test_web_browser.py tests/test_screenshots.py

lint: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/mypy
	$(BIN)/lint-imports

# Regenerate the docs that are generated from the code (tests fail when they are stale).
docs: setup
	$(BIN)/python -m allocator.inputs.dictionary
	$(BIN)/python -m allocator.inputs.scenario > docs/scenario.schema.json
	$(BIN)/python -c 'from allocator.policy.model import json_schema_text as s; \
	open("docs/policy-model.schema.json", "w", encoding="utf-8").write(s())'

# Bring every message id (babel.cfg) into the Chinese catalogue and compile it; translate
# what it lists as missing (tests/test_i18n.py fails until then).
messages: setup
	$(BIN)/python tools/messages.py

# Time every fairness rule on 1,500, 10,000, 100,000 and 1,000,000 synthetic firms, beside
# HiGHS (LP and MIP) and PuLP + CBC, the allocate command itself (--help, the sample, every
# rule at 100,000 and 1,000,000 firms) and the crossing family at 100,000 firms; rewrites
# benchmarks/results/latest.json, the tables of docs/performance.md (the targets table
# among them), docs/img/bench-scaling.svg and docs/img/bench-growth.svg. One part:
# make bench BENCH_ARGS='--only targets --sizes 100000' (docs/performance.md).
bench: setup
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out workbench .pytest_cache .mypy_cache .ruff_cache
