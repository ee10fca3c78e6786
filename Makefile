# PyROS developer entry points. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test bench clean

install: $(STAMP)

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/pyros start

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m tests.perf.bench_broker
	$(BIN)/python -m tests.perf.bench_titanic
	$(BIN)/python -m tests.perf.bench_kv
	$(BIN)/python -m tests.perf.bench_recovery
	$(BIN)/python -m tests.perf.bench_astro
	$(BIN)/python -m tests.perf.bench_scheduler

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
