# Set-up is part of every target: a fresh machine needs only Python 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: venv demo test lock bench repro

venv: $(VENV)/.installed

# Re-sync whenever the lock or the project metadata changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(UV) pip sync --quiet --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

demo: venv
	$(BIN)/churn demo

# Two workers, a test file each at a time (module fixtures are built once); files with slow tests start first.
test: venv
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: venv
	$(BIN)/python benchmarks/features_benchmark.py

# Regenerate the pinned lock after editing pyproject.toml.
lock: venv
	$(UV) pip compile --quiet pyproject.toml --extra test --python-version 3.11 -o requirements.lock

# Reproduce the demo pipeline with DVC (stages call `churn stage ...` from the venv).
repro: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
