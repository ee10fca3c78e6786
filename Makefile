# PyROS developer entry points. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

DEMO_CONFIG := etc/demo-night.toml
DEMO_DATABASE := var/demo-night.db

.PHONY: install run run-real test bench clean

install: $(STAMP)

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo night (etc/demo-night.toml): a fresh demo database, then the whole observatory on
# simulators through the supervisor, on a simulated night at 60x with a rain episode.
run: install
	mkdir -p var
	rm -f $(DEMO_DATABASE) $(DEMO_DATABASE)-wal $(DEMO_DATABASE)-shm
	$(BIN)/pyros --config $(DEMO_CONFIG) db init --demo
	$(BIN)/pyros --config $(DEMO_CONFIG) start

# The observatory of etc/pyros.toml in real time (its database is var/pyros.db; `pyros db init --demo` once).
run-real: install
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
	$(BIN)/python -m tests.perf.bench_safety
	$(BIN)/python -m tests.perf.bench_clock_speed

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
