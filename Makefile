# MCN Shutdown — `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python >= 3.12: python3.13, python3.12, a pyenv-installed one, or python3 if new enough.
PYTHON ?= $(shell for p in python3.13 python3.12 $$(ls -d $$HOME/.pyenv/versions/3.1[3-9]*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 2>/dev/null) python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install run serve test lint format bench loadtest lock migrate messages e2e-deps clean mutation

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "No Python >= 3.12 found. Install python3.12 or python3.13 (e.g. 'apt-get install python3.12-venv', 'brew install python@3.12' or 'pyenv install 3.12') and run make again."; exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the locked dependencies (idempotent)

lock: ## Re-resolve pyproject.toml into requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.12 -o requirements.lock

messages: install ## Compile the zh-hans/en translations
	@DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv -v 0

migrate: install ## Apply database migrations
	DEBUG=1 $(PY) manage.py migrate --noinput

# Links in emails and SMS point at the server `make run` starts, unless SITE_URL is given.
SITE_URL ?= http://$(HOST):$(PORT)

run: install messages ## Run the back office with demo data at http://$HOST:$PORT (SQLite + embedded broker unless DATABASE_URL/REDIS_URL); SITE_URL follows HOST/PORT
	DEBUG=1 $(PY) manage.py migrate --noinput -v 0
	DEBUG=1 SITE_URL=$(SITE_URL) $(PY) manage.py seed_demo
	DEBUG=1 HOST=$(HOST) PORT=$(PORT) SITE_URL=$(SITE_URL) bash scripts/run-dev.sh

serve: install ## Production way: gunicorn + Celery worker(s) + one beat, DEBUG off (needs DATABASE_URL, REDIS_URL; ROLE=web|worker|beat)
	HOST=$(HOST) PORT=$(PORT) bash scripts/serve.sh

lint: install ## ruff check
	$(VENV)/bin/ruff check .

format: install ## ruff format + fix
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

e2e-deps: ## Install Debian's chromium and a CJK font for the browser tests (no browser download)
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then \
		if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null 2>&1) || true; \
		else echo "Run as root or install chromium + fonts-wqy-microhei: browser tests are skipped without chromium"; fi; fi

test: install messages e2e-deps ## Lint and run the whole suite (PostgreSQL when DATABASE_URL is set, else SQLite)
	$(VENV)/bin/ruff check .
	TESTING=1 $(PY) -m pytest $(PYTEST_ARGS)

bench: install ## Benchmarks: one `name: value unit` line per figure
	@TESTING=1 $(PY) bench/run.py

loadtest: install ## Load test (not in `make test`): 2 gunicorns + 2 workers + beat on PostgreSQL/Redis, locust 50 users × 2 min → docs/loadtest.md
	bash scripts/loadtest.sh

clean: ## Remove the venv and local data
	rm -rf $(VENV) var/db.sqlite3 var/broker var/staticfiles

mutation: install ## Mutation testing of the core modules (cosmic-ray; not part of `make test`): MODULES="workdays decisions", MUTATION_SAMPLE, MUTATION_CAP
	nice -n 10 $(PY) scripts/mutation.py $(MODULES)
