# Set-up, run and test from a machine that has nothing but Python 3.11.
#
#   make run    virtualenv, install, .env.local (for manage.py), migrate, vocabularies,
#               founding case, demo accounts, then the development server on
#               http://127.0.0.1:8000; on the database of the last run unless DATABASE_URL
#               names another (a PostgreSQL database is created if missing)
#   make demo   make run with DEMO_CASES (2000) synthetic cases
#   make test   ruff and the full pytest suite against PostgreSQL (DATABASE_URL), on
#               PYTEST_WORKERS (2) processes; installs Debian's chromium for the
#               dashboard's browser test where it can
#   make test-quick  the unit, domain and api tiers (docs/contributing.md)
#   make bench  benchmarks at 10k, 100k and 1M synthetic cases (docs/performance.md)
#
# Variables: PYTHON (the interpreter for the venv), HOST and PORT (make run),
# PYTEST_ARGS (extra pytest arguments), DATABASE_URL (SQLite file when unset for
# run and demo: the last run's, else SQLite; the local PostgreSQL when unset for test),
# DEMO_CASES (demo), BENCH_SIZES and BENCH_ARGS (bench).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ifndef PYTHON
PYTHON := $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
endif
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# pytest-xdist processes, each with its own test database (test_<name>_gw0, …).
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist worksteal
BENCH_SIZES ?= 10000,100000,1000000
BENCH_ARGS ?=
DEMO_CASES ?= 2000
LOAD_CLIENTS ?= 50
LOAD_SECONDS ?= 60
LOAD_WORKERS ?= 3

BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
# A stamp per requirements set: pip runs again only when a requirements file changes.
RUN_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
# CI never reuses a test database, so a migration problem cannot hide behind one.
ifneq ($(filter true 1 yes,$(CI)),)
PYTEST_ARGS += --create-db
endif

.PHONY: help local-setup run demo test-prepare test pytest-command test-quick lint format clean venv bench loadtest faulttest

help:
	@echo "make run     set up (venv, migrate, vocabularies, founding case, demo accounts) and serve on http://$(HOST):$(PORT)"
	@echo "make demo    make run with $(DEMO_CASES) synthetic cases on the same database (the dashboard has data)"
	@echo "make test    ruff check, ruff format --check and pytest against PostgreSQL"
	@echo "make test-quick  the unit, domain and api tiers only: a first verdict in a few minutes"
	@echo "make lint    ruff check and ruff format --check"
	@echo "make format  ruff format and ruff check --fix"
	@echo "make clean   remove the venv, collected static files and caches (not the database)"
	@echo "make bench   benchmarks at $(BENCH_SIZES) cases against raw-SQL baselines (needs PostgreSQL, wrk)"
	@echo "make loadtest  $(LOAD_CLIENTS) concurrent clients for $(LOAD_SECONDS) s on gunicorn, then reconcile (a database of its own)"
	@echo "make faulttest stops a PostgreSQL cluster of its own under load and kills a worker mid-batch"

# ---------------------------------------------------------------- virtualenv

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: Python 3.11 is required and '$(PYTHON)' is not on PATH." >&2; \
	  echo "       Install python3.11 or run: make $(or $(MAKECMDGOALS),run) PYTHON=/path/to/python3.11" >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
	  echo "error: Python 3.11 is required; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
	  echo "       Install python3.11 or run: make $(or $(MAKECMDGOALS),run) PYTHON=/path/to/python3.11" >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt | $(BIN)/python
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "error: $(VENV) is not a Python 3.11 environment; remove it (make clean) and retry." >&2; exit 1; }
	$(BIN)/python -m pip install -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "error: $(VENV) is not a Python 3.11 environment; remove it (make clean) and retry." >&2; exit 1; }
	$(BIN)/python -m pip install -r requirements-dev.txt
	@touch $@ $(RUN_STAMP)

venv: $(RUN_STAMP)

# ---------------------------------------------------------------- run

# The settings refuse to start without DEBUG or SECRET_KEY; a local run is a debug run.
# The database is DATABASE_URL if given, else the one the last `make run` or `make demo`
# used (kept in .env.local), else the SQLite file db.sqlite3. A PostgreSQL database is
# created if missing, on this machine's server (started if stopped).
local-setup: export DEBUG ?= true
local-setup: $(RUN_STAMP)
	@# For manage.py in another terminal (it reads .env.local; the environment wins).
	@database="$${DATABASE_URL:-$$(sed -n 's/^DATABASE_URL=//p' .env.local 2>/dev/null | tail -n 1)}"; \
	{ echo "# Written by make run; read by manage.py only. Delete it to go back to SQLite."; \
	  echo "DEBUG=$$DEBUG"; \
	  if [ -n "$$database" ]; then echo "DATABASE_URL=$$database"; fi; } > .env.local; \
	case "$$database" in postgres*) DATABASE_URL="$$database" bash scripts/ensure-postgres --create;; esac; \
	echo "make: the database is $${database:-sqlite:///db.sqlite3 (the default)}"
	$(MANAGE) migrate --noinput
	$(MANAGE) load_vocabularies
	$(MANAGE) load_cases seeds/cases/founding_case.json
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(MANAGE) demo_accounts --base-url http://$(HOST):$(PORT)

run: local-setup
	$(MANAGE) runserver $(HOST):$(PORT)

# The same registry with DEMO_CASES synthetic cases from 40 synthetic hospitals, for a
# first look at the dashboard and the statistics. A second `make demo` replaces them.
demo: local-setup
	$(MANAGE) synth --cases $(DEMO_CASES) --reset
	$(MANAGE) runserver $(HOST):$(PORT)

# ---------------------------------------------------------------- test and lint

# What make test does before pytest; .ci/run runs these, then pytest-command's pytest.
test-prepare: $(DEV_STAMP)
	bash scripts/ensure-postgres
	@# Headless Chromium for the dashboard's browser test; without it that test is skipped.
	@command -v chromium >/dev/null 2>&1 || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo -n ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; } 2>/dev/null \
	  || echo "chromium not installed: browser tests will be skipped"
	@# curl runs the README's requests in tests/test_readme.py (skipped without it).
	@command -v curl >/dev/null 2>&1 || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo -n ); \
	  $$SUDO apt-get install -y -qq curl >/dev/null; } 2>/dev/null \
	  || echo "curl not installed: the README's requests will not be run"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: test-prepare
	$(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

pytest-command:
	@echo $(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# The first verdict: every tier but the schema contract and end-to-end (docs/contributing.md).
test-quick: $(DEV_STAMP)
	bash scripts/ensure-postgres
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not contract and not e2e" $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# ---------------------------------------------------------------- bench

$(BENCH_STAMP): bench/requirements.txt $(DEV_STAMP)
	$(BIN)/python -m pip install -r bench/requirements.txt
	@touch $@

# Databases registry_bench_<size> are built once (synth) and reused; see bench/environment.py.
bench: $(BENCH_STAMP)
	DATABASE_URL="$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/registry_bench}" \
	  bash scripts/ensure-postgres
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "Installing wrk, the HTTP load generator (Debian package)."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y wrk || { $$SUDO apt-get update && $$SUDO apt-get install -y wrk; }; }
	$(BIN)/python bench/run.py --sizes $(BENCH_SIZES) $(BENCH_ARGS)

# ---------------------------------------------------------------- reliability

# loadtest creates a database of its own (registry_loadtest_<random>) and drops only it;
# faulttest stops a PostgreSQL cluster of its own, never the machine's (scripts/scratch_postgres.py).
loadtest: $(DEV_STAMP)
	bash scripts/ensure-postgres
	$(BIN)/python scripts/loadtest.py --clients $(LOAD_CLIENTS) --seconds $(LOAD_SECONDS) \
	  --workers $(LOAD_WORKERS)

faulttest: $(DEV_STAMP)
	$(BIN)/python scripts/faulttest.py

clean:
	rm -rf $(VENV) .env.local staticfiles .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
