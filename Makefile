# Backhaul — make help lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CARRIER ?= delhivery

.PHONY: help install demo test lint bench sandbox clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Backhaul needs Python 3.11 or newer"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install Backhaul with its dev tools

demo: $(STAMP)  ## run the whole system on embedded Redis with demo data
	$(BIN)/backhaul demo

test: $(STAMP)  ## run the whole test suite
	$(BIN)/pytest -q

lint: $(STAMP)  ## ruff, mypy and the import-layer contracts
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)  ## run the benchmarks and print a table
	$(BIN)/python -m bench

sandbox: $(STAMP)  ## run one carrier sandbox (CARRIER=slug)
	$(BIN)/backhaul sandbox --carrier $(CARRIER)

clean:  ## remove the venv, data and caches
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
