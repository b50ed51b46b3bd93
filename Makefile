# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# The PostgreSQL server CI and developers' machines run (trust auth); override as needed.
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install db demo run serve test test-sqlite test-pg lint bench clean vendor vendor-check guide

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

db: install
	$(BIN)/tsunagu db upgrade

demo: db
	$(BIN)/tsunagu demo load

# A random SECRET_KEY, written once (never overwritten: it signs the sessions).
instance/config.py: | $(VENV)/.installed
	mkdir -p instance
	umask 077 && $(BIN)/python -c "import secrets; print(f'SECRET_KEY = {secrets.token_hex(32)!r}')" > $@

run: demo instance/config.py
	@echo "サインインするアカウント: .venv/bin/tsunagu user add LOGIN --role tier2 --area CODE"
	$(BIN)/tsunagu serve --host 127.0.0.1 --port 5000

serve: install instance/config.py
	$(BIN)/tsunagu serve

# ruff (lint and format) and mypy (0 errors on directory, matching, maps, web; config in pyproject)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# `make test`: lint (ruff, ruff format --check, mypy), then the whole suite on the engine DATABASE_URL names (SQLite when unset).
test: lint
	$(BIN)/python -m pytest

test-pg: install
	DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/import_geography.py --quick
	$(BIN)/python benchmarks/import_resources.py --quick
	$(BIN)/python benchmarks/maps.py --quick
	$(BIN)/python benchmarks/match.py --quick
	$(BIN)/python benchmarks/exports.py --quick --check
	$(BIN)/python benchmarks/duplicates.py --quick
	$(BIN)/python benchmarks/reports.py --quick
	$(BIN)/python benchmarks/web.py --quick
	$(BIN)/python benchmarks/web.py --quick --database $(PG_URL)
	$(BIN)/python benchmarks/unmet.py --quick

# Leaflet and friends are vendored in web/static/vendor (maps must work on closed networks);
# `make vendor` refetches the pinned versions from the npm registry, `vendor-check` verifies.
vendor: install
	bash scripts/vendor_assets.sh

vendor-check: install
	bash scripts/vendor_assets.sh --check

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache

# The README's guide shows the screenshots the browser tests take (artifacts/guide).
guide: install
	$(BIN)/python -m pytest -q tests/web -m browser
	mkdir -p tests/guide && cp artifacts/guide/*.png tests/guide/
