# Two commands on a fresh machine:  `make quickstart` (the main job, offline)  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN ?= runs/quickstart

.PHONY: install quickstart test lint bench mutation

$(BIN)/gansrv: pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[train,gpu,dev]"
	@touch $@

install: $(BIN)/gansrv

# The main job end to end on the embedded digits dataset (no network, no files from elsewhere):
# train a conditional GAN, export it to ONNX (parity-checked), write a labelled dataset from it.
quickstart: install
	rm -rf $(RUN) $(RUN)-dataset
	$(BIN)/gansrv train cgan --data digits --steps 1500 --out $(RUN)
	$(BIN)/gansrv export $(RUN) --onnx -o exported/quickstart.onnx
	$(BIN)/gansrv generate exported/quickstart.onnx --per-class 100 --out $(RUN)-dataset
	@echo "samples: $(RUN)/samples/  loss curves: $(RUN)/loss.png  model: exported/quickstart.onnx"
	@echo "dataset: $(RUN)-dataset/ (1,000 labelled PNGs + metadata.jsonl)  demo: $(BIN)/gansrv demo exported/quickstart.onnx"

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python benchmarks/cgan_mnist.py
	$(BIN)/python benchmarks/steps_per_sec.py

# Mutation testing of the modules that guard what lands on disk (config: [tool.mutmut] in pyproject.toml;
# results: docs/reliability.md). Tens of minutes on one core; not part of `make test` or CI.
# MUTANTS narrows the run, e.g. make mutation MUTANTS='gansrv.generate.writer*'. pytest's temporary
# folders go to a tmpfs (/dev/shm) when there is one: each mutant's session writes ~8,000 PNGs and
# removes an older session's: one such removal took 43 s on the `discard`-mounted disk (docs/reliability.md).
MUTANTS ?=
mutation: install
	rm -rf mutants
	tmp=$$(mktemp -d /dev/shm/gansrv-mutmut.XXXXXX 2>/dev/null || mktemp -d) && \
	OMP_NUM_THREADS=1 TMPDIR=$$tmp $(BIN)/mutmut run --max-children 1 $(MUTANTS); \
	rc=$$?; rm -rf "$$tmp"; test $$rc -eq 0
	$(BIN)/python tools/mutation_report.py
