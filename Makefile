# Quick start: `make demo` then `make test`, on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB := sqlite:///results/demo.db
# The demo study (registry.toml) scores with the digit metrics, which need no download;
# FID and IS join when GANBENCH_INCEPTION_WEIGHTS names a file.
comma := ,
DEMO_METRICS := $(if $(GANBENCH_INCEPTION_WEIGHTS),metrics=mnist_fd$(comma)mnist_modes$(comma)fid$(comma)is)

.PHONY: setup demo test clean

$(BIN)/ganbench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[test]'
	touch $@

setup: $(BIN)/ganbench

demo: setup
	$(BIN)/ganbench run study=demo $(DEMO_METRICS) --device auto --db $(DEMO_DB)
	$(BIN)/ganbench report --db $(DEMO_DB) --study demo --plots results/demo-plots --html results/report

test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) results .pytest_cache
