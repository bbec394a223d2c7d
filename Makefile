# Two commands for a newcomer: `make run` (the app with the sample city) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
HOUSEHOLDS ?= 5000
ifdef DATABASE_URL
export DATABASE_URL
endif

# The locked dependency set (docs/deploy.md, "Dependencies"): every package pinned with its
# hashes; main.txt for a server, dev.txt adds the tests' and linters' tools. Plain pip installs
# them; `make lock` refreshes them from pyproject.toml with uv (a dev tool in the lock).
LOCK := requirements/dev.txt
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml requirements/build.in --universal \
	--python-version 3.11 --generate-hashes --no-config --quiet --custom-compile-command 'make lock'

.PHONY: run test lint format bench system venv db clean lock upgrade-deps

$(BIN)/.installed: pyproject.toml $(LOCK)
	@bash scripts/system-deps.sh run
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r $(LOCK)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	@touch $@

venv: $(BIN)/.installed

db: venv
	@bash scripts/system-deps.sh run
	$(BIN)/python -m app.cli migrate --create-database
	$(BIN)/python -m app.cli load-sample --households $(HOUSEHOLDS) --member-cities 2

run: db
	@echo "CDF map on http://$(HOST):$(PORT)  (API docs at /docs)"
	@echo "demo accounts (password demo): demo-volunteer, demo-ward-leader, demo-planner, demo-admin"
	DEMO=$${DEMO:-true} $(BIN)/uvicorn app.main:create_app --factory --http app.http_protocol:HttpProtocol --host $(HOST) --port $(PORT) --proxy-headers --no-server-header

test: venv
	@bash scripts/system-deps.sh test
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy app

format: venv
	$(BIN)/ruff format app tests bench
	$(BIN)/ruff check --fix app tests bench

bench: venv
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.export
	$(BIN)/python -m bench.maps

# After changing pyproject.toml: a new lock that keeps every pin it still can, then the tests.
lock: venv
	$(UV_COMPILE) $(UPGRADE) --extra dev -o requirements/dev.txt
	$(UV_COMPILE) -c requirements/dev.txt -o requirements/main.txt
	$(MAKE) test

# Every package to its newest release that pyproject.toml allows, then the tests.
upgrade-deps:
	$(MAKE) lock UPGRADE=--upgrade

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
