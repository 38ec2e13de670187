# Quick start: `make demo` then `make test`, on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB := sqlite:///results/demo.db
# The digit metrics need no download; FID and IS join when GANBENCH_INCEPTION_WEIGHTS names a file.
comma := ,
DEMO_METRICS := mnist_fd,mnist_modes$(if $(GANBENCH_INCEPTION_WEIGHTS),$(comma)fid$(comma)is)
DEMO := res=32 filters=0.25 batch=32 log_every=50 ckpt_every=500 metrics=$(DEMO_METRICS) \
	eval_every=100 eval_real=2000 eval_fake=1000 sample_every=100 --steps 500 --device auto --db $(DEMO_DB)

.PHONY: setup demo test clean

$(BIN)/ganbench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[test]'
	touch $@

setup: $(BIN)/ganbench

demo: setup
	$(BIN)/ganbench run plugins=dcgan $(DEMO) --name dcgan
	$(BIN)/ganbench run plugins=dcgan,resnet_tail $(DEMO) --name dcgan+resnet_tail
	$(BIN)/ganbench report --db $(DEMO_DB) --plots results/demo-plots

test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) results .pytest_cache
