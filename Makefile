# Set-up is part of every target: a fresh machine needs only Python 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: venv demo test lock bench bench-1m repro

venv: $(VENV)/.installed

# Re-sync whenever the lock or the project metadata changes. Bytecode is compiled at install: where Python may
# not write it (PYTHONDONTWRITEBYTECODE, a read-only install) every command would compile MLflow, Prefect and
# pandas again (importing them 8.1 s -> 3.5 s here).
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 src pipelines > /dev/null
	touch $@

demo: venv
	$(BIN)/churn demo

# Two workers, a test file each at a time (module fixtures are built once); files with slow tests start first.
test: venv
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

# Benchmarks (by hand, not tests; figures in the README's Benchmarks section). Each heavy run goes through
# CAPPED, a memory ceiling and a time limit, so a run that outgrows the machine fails alone.
CAPPED ?= $(if $(wildcard ../shared/tools/capped),../shared/tools/capped,)
bench: venv
	$(CAPPED) $(if $(CAPPED),-m 8 -t 1800) $(BIN)/python benchmarks/features_benchmark.py
	$(CAPPED) $(if $(CAPPED),-m 12 -t 5400) $(BIN)/python benchmarks/scale.py --customers 100000 --out data/scale_100k
	$(CAPPED) $(if $(CAPPED),-m 8 -t 1800) $(BIN)/python benchmarks/pg_pull.py --history data/scale_100k/history --runs 3

bench-1m: venv
	$(CAPPED) $(if $(CAPPED),-m 14 -t 3600) $(BIN)/python benchmarks/features_benchmark.py --customers 1000000 --orders 20000000 --source parquet
	$(CAPPED) $(if $(CAPPED),-m 23 -t 14400) $(BIN)/python benchmarks/scale.py --customers 1000000 --out data/scale_1m
	$(CAPPED) $(if $(CAPPED),-m 20 -t 3600) $(BIN)/python benchmarks/pg_pull.py --history data/scale_1m/history --runs 3

# Regenerate the pinned lock after editing pyproject.toml.
lock: venv
	$(UV) pip compile --quiet pyproject.toml --extra test --python-version 3.11 -o requirements.lock

# Reproduce the demo pipeline with DVC (stages call `churn stage ...` from the venv).
repro: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
