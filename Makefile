# Everything a fresh Debian machine with Python 3.11 needs: `make demo`, `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Biome (from npm, pinned by package-lock.json) lints the report page's JavaScript; nothing from npm ships
NODE_STAMP := node_modules/.installed

.PHONY: demo test lint format bench bench-optimize bench-scale cluster cluster-stop clean

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv" >&2; \
	  apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { \
	  echo "npm is missing: installing Debian's nodejs and npm" >&2; \
	  apt-get update -q && apt-get install -y -q nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

# two workers (pytest-xdist), a test file to each at a time: the suite waits on SLURM, Dask and chromium
# as much as it computes, so two take about half the time of one (934 s against 494 s here)
test: $(STAMP) lint
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff format --check gitgrid tests benchmarks
	$(BIN)/ruff check gitgrid tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	node_modules/.bin/biome ci --colors=off gitgrid/report/static

format: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff format gitgrid tests benchmarks
	$(BIN)/ruff check --fix gitgrid tests benchmarks
	node_modules/.bin/biome check --write gitgrid/report/static

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_create.py
	$(BIN)/python benchmarks/bench_run.py
	$(BIN)/python benchmarks/bench_report.py

# gitgrid's optimisers against cma, Nevergrad and Optuna (hours on 2 cores; --quick: minutes)
bench-optimize: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_optimize.py

# Issue 10's figures at 10^4, 10^5 and 10^6 points (the last takes the better part of an hour).
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py

# A real single-node SLURM for the cluster tests (root; installs Debian packages). Without it they skip.
cluster:
	bash tests/slurm/cluster.sh start

cluster-stop:
	bash tests/slurm/cluster.sh stop

clean:
	rm -rf $(VENV) node_modules demo-output test-artefacts .pytest_cache .mypy_cache .ruff_cache
