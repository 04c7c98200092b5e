# citylake: every set-up step lives here. `make demo` and `make test` are all a new user needs.
SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.9
VENV := .venv
SS_VENV := .venv-superset
UV := $(PYTHON) -m uv
export UV_LINK_MODE := copy

.PHONY: install demo test up down bench lint lint-sql lock clean chromium uv docs-assets

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"

# The platform venv: Airflow, dbt, GX, Spark, DuckDB and citylake (editable).
$(VENV)/.installed: requirements/main.txt requirements/no-deps.txt pyproject.toml | uv
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(VENV)/bin/python requirements/main.txt
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps -r requirements/no-deps.txt
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	touch $@

# Superset's own venv (it pins SQLAlchemy<2 / pandas 2.1, Airflow 3 needs SQLAlchemy 2).
$(SS_VENV)/.installed: requirements/superset.txt | uv
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(SS_VENV)
	$(UV) pip sync --quiet --python $(SS_VENV)/bin/python requirements/superset.txt
	touch $@

# The documentation pages' CSS/JS (Bootstrap, jQuery, Vega, ...) from the npm registry,
# pinned by docs_assets/package-lock.json: GX Data Docs load them from here, not from CDNs.
DOCS_ASSETS := docs_assets
$(DOCS_ASSETS)/node_modules/.installed: $(DOCS_ASSETS)/package.json $(DOCS_ASSETS)/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20+ (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	cd $(DOCS_ASSETS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

docs-assets: $(DOCS_ASSETS)/node_modules/.installed

install: $(VENV)/.installed $(SS_VENV)/.installed docs-assets

# Debian's Chromium for the browser tests (never a downloaded browser build), and a CJK
# font so Chinese names render in screenshots.
chromium:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi wqy; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; fi

demo: install
	$(VENV)/bin/citylake demo

# pytest exits 5 when a selection collects nothing: that is not a failure of the suite.
test: install chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests selected"; exit 0; fi; exit $$rc

up: install
	$(VENV)/bin/citylake up

down:
	$(VENV)/bin/citylake down

bench: install
	$(VENV)/bin/python -m citylake.bench

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check citylake dags transforms quality tests

# sqlfluff on the dbt project (dbt templater: compiles the project against this home's lake,
# so run it after `make demo`; ~10 CPU minutes, hence not part of `make test`).
lint-sql: install
	$(VENV)/bin/citylake lint-sql

# Re-pin after editing requirements/*.in.
lock: | uv
	$(UV) pip compile --quiet --python-version 3.11 requirements/main.in -o requirements/main.txt
	$(UV) pip compile --quiet --python-version 3.11 requirements/superset.in -o requirements/superset.txt

clean:
	rm -rf .citylake test-output
