# tickwork: `make run` starts the embedded default; `make test` runs lint and every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test lint unit integration acceptance sysdeps bench bench-agents failover fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Quartz 2.3.2 (Debian's libquartz2-java) and a JDK, for the differential cron tests;
# libfaketime, to skew the clocks of servers in the multi-server tests.
SYSDEPS := libquartz2-java default-jdk-headless faketime
sysdeps:
	@if [ ! -f /usr/share/java/quartz2.jar ] || ! command -v javac >/dev/null \
	    || [ ! -f /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing $(SYSDEPS) (for the Quartz differential and clock skew tests)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSDEPS) >/dev/null) \
	      || echo "could not install $(SYSDEPS); their tests will skip (or fail under CI=true)"; \
	  else \
	    echo "missing system packages: apt-get install $(SYSDEPS)"; \
	  fi; \
	fi

run: $(STAMP)
	$(BIN)/tickwork server

# ruff, mypy strict, and the layers of shared/DESIGN.md (import-linter, pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Everything (integration tests run each case on SQLite and PostgreSQL), then the acceptance
# tests again with every server on PostgreSQL.
test: $(STAMP) sysdeps lint
	$(BIN)/pytest $(PYTEST_ARGS)
	TW_TEST_BACKEND=postgres $(BIN)/pytest tests/acceptance $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

acceptance: $(STAMP)
	$(BIN)/pytest tests/acceptance $(PYTEST_ARGS)
	TW_TEST_BACKEND=postgres $(BIN)/pytest tests/acceptance $(PYTEST_ARGS)

# The property-based fuzz of the native API from its OpenAPI document (docs/native-api.md,
# "The fuzz"): FUZZ_EXAMPLES examples a route and key (300: over 20,000 requests, about 6 minutes
# on the 2-core development machine); `make test` runs 5 a route and key.
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)
	TW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/acceptance/test_native_fuzz.py \
	  -p no:cacheprovider -s -v --timeout 3600 --basetemp /tmp/tickwork-fuzz $(PYTEST_ARGS)

# Every scenario for tickwork (SQLite, PostgreSQL) and the peers, side by side: writes
# bench/out/results.json and a markdown table (docs/benchmarks.md). QUICK=1: a short version;
# SCALE_JOBS=N: the scale scenario with N jobs instead of 100,000.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(if $(QUICK),--quick,) $(if $(SCALE_JOBS),--scale-jobs $(SCALE_JOBS),)

# tickwork alone: runs through one worker agent, and a map-reduce over three (docs/workers.md)
bench-agents: $(STAMP)
	$(BIN)/python bench/agent_throughput.py
	$(BIN)/python bench/map_reduce.py

# What faults cost under load (issue 21; docs/multi-server.md, "Measured faults"): three servers
# on a fresh PostgreSQL, 300 shell jobs every second, 20 API triggers a second; two SIGKILLs, a
# SIGTERM restart and a PostgreSQL restart (root only), with in-process workers, then with two
# agents (one frozen 15 s). bench/out/failover.json, failover-agents.json (and .md). About 9
# min; FAILOVER_QUICK=1: faults 15 s apart, no PostgreSQL restart, about 5 min.
# FAILOVER_ARGS: more options of bench/failover.py (--no-pg-restart, --jobs N, --keep, ...).
failover: $(STAMP)
	$(BIN)/python bench/failover.py $(if $(FAILOVER_QUICK),--quick,) $(FAILOVER_ARGS)
	$(BIN)/python bench/failover.py --agents $(if $(FAILOVER_QUICK),--quick,) $(FAILOVER_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
