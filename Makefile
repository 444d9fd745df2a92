# One command to set up and run the demo stack, one to run every test. Both make the virtual
# environment themselves on a fresh machine (Python 3.11+, pip, venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint build clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## demo: embedded local AWS (moto), fit EPL 2024-25, precompute via the S3 event, serve http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/matchodds demo

## lint: ruff, the one-way layers (import-linter contracts) and the types (mypy), all set in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

## test: lint, then every test tier (unit, integration, fit, e2e, infra)
test: lint
	$(BIN)/python -m pytest

## build: the Lambda zips in build/lambda (see docs/deploy.md)
build: $(STAMP)
	$(BIN)/python -m infra.package

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .mypy_cache
