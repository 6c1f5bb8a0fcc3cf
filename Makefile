# PTSA Hub. `make run` starts the product; `make test` runs the whole suite; `make check` lints.
# Both bootstrap .venv on their own, so a fresh clone needs nothing but Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ptsa run

test: $(STAMP) check
	$(BIN)/pytest -q $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check hub channels workers web config tests bench
	$(BIN)/mypy

# Three interleaved rounds of the bare floor (uvloop and asyncio) and the hub's fan-out at
# N = 2,000, 20 events/s, 30 s windows: medians and ratios to the floor (docs/BENCHMARKS.md).
BENCH_ARGS ?= --rounds 3 --variants floor,floor-asyncio,hub --duration 30
bench: $(STAMP)
	$(BIN)/python -m bench.compare $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
