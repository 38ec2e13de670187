# Quick start: `make demo` then `make test`, on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB := sqlite:///results/demo.db
DEMO := res=32 filters=0.25 batch=32 log_every=50 ckpt_every=300 --steps 300 --device auto --db $(DEMO_DB)

.PHONY: setup demo test clean

$(BIN)/ganbench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[test]'
	touch $@

setup: $(BIN)/ganbench

demo: setup
	$(BIN)/ganbench run plugins=dcgan $(DEMO) --name dcgan
	$(BIN)/ganbench run plugins=dcgan,resnet_tail $(DEMO) --name dcgan+resnet_tail
	$(BIN)/ganbench report --db $(DEMO_DB)

test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) results .pytest_cache
