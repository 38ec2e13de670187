# Quick start: `make demo` then `make test`, on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB := sqlite:///results/demo.db
# The demo study (registry.toml) scores with the digit metrics, which need no download;
# FID and IS join when GANBENCH_INCEPTION_WEIGHTS names a file.
comma := ,
DEMO_METRICS := $(if $(GANBENCH_INCEPTION_WEIGHTS),metrics=mnist_fd$(comma)mnist_modes$(comma)fid$(comma)is)

.PHONY: setup demo test check clean

# The demo installs what a run needs; the test extras (Ray, MLflow, TensorBoard, Playwright,
# PostgreSQL's driver, submitit, ruff, mypy) come with `make test`.
$(BIN)/ganbench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.test-extras: $(BIN)/ganbench pyproject.toml
	$(BIN)/pip install -e '.[test]'
	touch $@

setup: $(BIN)/ganbench

demo: setup
	$(BIN)/ganbench run study=demo $(DEMO_METRICS) --device auto --db $(DEMO_DB)
	$(BIN)/ganbench report --db $(DEMO_DB) --study demo --plots results/demo-plots --html results/report

# ruff (lint and format) and mypy, as configured in pyproject.toml
check: $(VENV)/.test-extras
	$(BIN)/ruff check ganbench plugins tests benchmarks docs
	$(BIN)/ruff format --check ganbench plugins tests benchmarks docs
	$(BIN)/mypy

test: check
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) results .pytest_cache
