# Everything a fresh Debian machine with Python 3.11 needs: `make demo`, `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv" >&2; \
	  apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

test: $(STAMP) lint
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff format --check gitgrid tests benchmarks
	$(BIN)/ruff check gitgrid tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format gitgrid tests benchmarks
	$(BIN)/ruff check --fix gitgrid tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_create.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
