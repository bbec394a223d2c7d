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

.PHONY: run test lint format bench system venv db clean

$(BIN)/.installed: pyproject.toml
	@bash scripts/system-deps.sh run
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

venv: $(BIN)/.installed

db: venv
	@bash scripts/system-deps.sh run
	$(BIN)/python -m app.cli migrate --create-database
	$(BIN)/python -m app.cli load-sample --households $(HOUSEHOLDS)

run: db
	@echo "CDF map on http://$(HOST):$(PORT)  (API docs at /docs)"
	@echo "demo accounts (password demo): demo-volunteer, demo-ward-leader, demo-planner, demo-admin"
	DEMO=$${DEMO:-true} $(BIN)/uvicorn app.main:create_app --factory --host $(HOST) --port $(PORT) --proxy-headers --no-server-header

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
