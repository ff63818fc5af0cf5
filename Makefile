# City Cockpit: `make run` serves the demo city, `make test` passes the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DASH_TEST_CHROMEPATH ?= /usr/bin/chromium

.PHONY: run test lint browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.run-deps

## Serve the embedded demo city at http://127.0.0.1:8050
run: $(VENV)/.run-deps
	$(BIN)/python app.py

## Debian's Chromium and its driver for the browser tests, when missing
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver; \
	fi

## Lint, the import contract (floors), then the whole test suite (unit, connectors over HTTP, stores, browser)
test: browser $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) test-output .pytest_cache
