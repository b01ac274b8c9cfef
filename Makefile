# citeqa — `make run` serves the default corpus; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install install-test run index test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned: 2.13.0 is the CPU build on local disk; anything else pulls CUDA.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.core
	$(BIN)/pip install -e '.[test]'
	touch $@

install: $(VENV)/.core

install-test: $(VENV)/.test

index: install
	$(BIN)/citeqa index

run: index
	$(BIN)/citeqa serve --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check service index tests
	$(BIN)/mypy

test: install-test lint
	$(BIN)/pytest

bench: install-test
	$(BIN)/python -m bench.latency

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
