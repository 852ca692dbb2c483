# Two commands do all set-up on a fresh clone: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# nautilus_trader needs Python >= 3.12: take the first interpreter that is new enough.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3.12 python3.13 python3 $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do \
	  "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v "$$p" || echo "$$p"; } && break; done)
endif
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/ats

.PHONY: run test test-fast lint hooks venv bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@if [ -z "$(PYTHON)" ]; then echo "error: no Python >= 3.12 found (nautilus_trader needs it); install python3.12 or set PYTHON=/path/to/python3.12" >&2; exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

# The embedded demo runs with DEBUG on (and so a throwaway SECRET_KEY unless one is set); production sets neither.
run: export DEBUG = true
run: venv
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py create_admin --if-none
	$(PY) manage.py seed_bundled_bars
	$(PY) manage.py run_stack

# ruff (lint rules and formatting) and strict mypy on the files pyproject.toml lists.
lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The fast tier: every test not marked e2e (no ibsim, TradingNode, daphne, django-q cluster or browser), on SQLite.
test-fast: venv
	$(PY) -m pytest -m "not e2e"

# The whole suite, after lint.
test: lint
	$(PY) -m pytest
	@echo "== PostgreSQL pass: the database-trigger, chain and approval tests against $(PG_TEST_URL)"
	DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -m postgres

hooks: venv
	$(PY) -m pre_commit install

bench: export DEBUG = true
bench: venv
	@for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) var
