# Dockyard — the commands a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# Test processes (pytest-xdist); each has its own databases. TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= 3

.PHONY: help venv run test lint format bench vendor clean \
        db-init db-migrate db-status db-seed db-backup db-restore db-check db-schema

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Dockyard needs Python >= 3.11 (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(STAMP) ## Create .venv and install Dockyard with its dev tools

run: $(STAMP) ## Serve everything on http://127.0.0.1:8000 (embedded PostgreSQL unless DATABASE_URL is set)
	BACKUPS_SCHEDULER=$${BACKUPS_SCHEDULER:-true} $(BIN)/dockyard serve --migrate

test: $(STAMP) ## Run the whole test suite (CI=true: missing PostgreSQL/Redis fail instead of skip)
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP) ## ruff + mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: $(STAMP) ## Run the benchmarks in bench/ and record results under bench/results/
	$(BIN)/python -m bench.healthz
	$(BIN)/python -m bench.migrations
	$(BIN)/python -m bench.auth
	$(BIN)/python -m bench.ihr
	$(BIN)/python -m bench.mentorship

db-init: $(STAMP) ## Create role and database when permitted, then migrate
	$(BIN)/dockyard db init
db-migrate: $(STAMP) ## Apply pending migrations (ARGS="--dry-run" etc.)
	$(BIN)/dockyard db migrate $(ARGS)
db-status: $(STAMP) ## Show applied and pending migrations
	$(BIN)/dockyard db status
db-seed: $(STAMP) ## Load demo data (SIZE=bench for the benchmark set)
	$(BIN)/dockyard db seed --size $(or $(SIZE),demo)
db-backup: $(STAMP) ## pg_dump -Fc to .dockyard/backups with a manifest
	$(BIN)/dockyard db backup
db-restore: $(STAMP) ## Restore a dump: make db-restore FILE=path [TARGET=db]
	@test -n "$(FILE)" || { echo "usage: make db-restore FILE=path/to.dump [TARGET=database]"; exit 2; }
	$(BIN)/dockyard db restore "$(FILE)" $(TARGET)
db-check: $(STAMP) ## Connectivity, migrations applied, schema equals db/schema.sql
	$(BIN)/dockyard db check
db-schema: $(STAMP) ## Regenerate db/schema.sql from a migrated database
	$(BIN)/dockyard db schema

vendor: ## Refresh the vendored front-end assets from npm (needs node + npm)
	npm install --no-audit --no-fund --ignore-scripts
	mkdir -p src/dockyard/static/vendor/swagger-ui
	cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css,favicon-32x32.png,LICENSE,NOTICE} \
	   src/dockyard/static/vendor/swagger-ui/
	mkdir -p src/dockyard/static/vendor/bootstrap src/dockyard/static/vendor/chart.js
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js \
	   node_modules/bootstrap/LICENSE src/dockyard/static/vendor/bootstrap/
	cp node_modules/@popperjs/core/LICENSE.md src/dockyard/static/vendor/bootstrap/LICENSE-popper.md
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/LICENSE.md \
	   src/dockyard/static/vendor/chart.js/
	cp node_modules/chartjs-adapter-date-fns/dist/chartjs-adapter-date-fns.bundle.min.js \
	   src/dockyard/static/vendor/chart.js/
	cp node_modules/chartjs-adapter-date-fns/LICENSE.md src/dockyard/static/vendor/chart.js/LICENSE-adapter-date-fns.md
	cp node_modules/date-fns/LICENSE.md src/dockyard/static/vendor/chart.js/LICENSE-date-fns.md

clean: ## Remove the virtualenv, caches and local data (.dockyard)
	rm -rf $(VENV) .dockyard .pytest_cache .mypy_cache .ruff_cache node_modules
