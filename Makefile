# Two commands on a fresh machine:  `make quickstart` (the main job, offline)  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN ?= runs/quickstart

.PHONY: install quickstart test lint bench

$(BIN)/gansrv: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[train,gpu,dev]"
	@touch $@

install: $(BIN)/gansrv

# Train a conditional GAN on the embedded digits dataset (no network, no files from elsewhere).
quickstart: install
	rm -rf $(RUN)
	$(BIN)/gansrv train cgan --data digits --steps 1500 --out $(RUN)
	@echo "samples: $(RUN)/samples/  loss curves: $(RUN)/loss.png"

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python benchmarks/cgan_mnist.py
	$(BIN)/python benchmarks/steps_per_sec.py
