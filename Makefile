# tickwork: `make run` starts the embedded default; `make test` runs lint and every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test lint unit integration acceptance sysdeps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Quartz 2.3.2 (Debian's libquartz2-java) and a JDK, for the differential cron tests.
sysdeps:
	@if [ ! -f /usr/share/java/quartz2.jar ] || ! command -v javac >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing libquartz2-java and a JDK (for the Quartz differential tests)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libquartz2-java default-jdk-headless >/dev/null) \
	      || echo "could not install Quartz; its differential tests will skip (or fail under CI=true)"; \
	  else \
	    echo "Quartz 2.3.2 is not installed (apt-get install libquartz2-java default-jdk-headless)"; \
	  fi; \
	fi

run: $(STAMP)
	$(BIN)/tickwork server

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

test: $(STAMP) sysdeps lint
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

acceptance: $(STAMP)
	$(BIN)/pytest tests/acceptance $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/lateness.py
	$(BIN)/python bench/agent_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
