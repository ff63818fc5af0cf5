# City Cockpit: `make run` serves the demo city, `make test` passes the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DASH_TEST_CHROMEPATH ?= /usr/bin/chromium

.PHONY: run test lint browser pdf-libs clean

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
run: pdf-libs $(VENV)/.run-deps
	$(BIN)/python app.py

## Debian's Chromium and its driver for the browser tests, when missing
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver; \
	fi

## Pango, HarfBuzz, Cairo and a font for the daily brief's PDF (WeasyPrint) and pictures (CairoSVG), when missing
pdf-libs:
	@if ! ldconfig -p | grep -q libpangoft2-1.0 || ! ldconfig -p | grep -q libharfbuzz-subset \
		|| ! ldconfig -p | grep -q libcairo.so.2 \
		|| ! [ -d /usr/share/fonts/truetype/dejavu ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q libpango-1.0-0 \
			libpangoft2-1.0-0 libharfbuzz-subset0 libcairo2 fonts-dejavu-core; \
	fi

## Lint, the import contract (floors), then the whole test suite (unit, connectors over HTTP, stores, browser)
test: browser pdf-libs $(VENV)/.test-deps
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
