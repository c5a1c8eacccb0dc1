# factpack — `make dataset` builds the release, `make test` runs the tests.
# Both create .venv and install the locked dependencies (uv.lock) themselves.
.DEFAULT_GOAL := dataset
SHELL := /bin/bash

PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced
FACTPACK := $(BIN)/factpack

$(STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@# --compile-bytecode: every build process (and each worker) would otherwise compile the
	@# libraries again when PYTHONDONTWRITEBYTECODE is set (2-3 s per process measured here).
	@$(BIN)/uv sync --quiet --frozen --all-extras --inexact --compile-bytecode --python $(BIN)/python
	@touch $@

.PHONY: venv
venv: $(STAMP) ## create .venv with the locked dependencies

# The release: dist/<name>-<version>/ and its zip, name and version from schema/package.yaml.
# `make dataset` always runs `factpack build`: the build decides what to redo from content
# keys (build/cache/, docs/scaling.md), not make from file times; an unchanged corpus is
# "up to date" in about a second.
DATASET_NAME := $(shell sed -n 's/^name: *//p' schema/package.yaml | tr -d "\"'")
DATASET_VERSION := $(shell sed -n 's/^version: *//p' schema/package.yaml | tr -d "\"'")
RELEASE := dist/$(DATASET_NAME)-$(DATASET_VERSION)

.PHONY: dataset
dataset: $(STAMP) ## build the dataset release in dist/ from seeds/
	$(FACTPACK) build

.PHONY: validate
validate: $(STAMP) ## re-check the release in dist/: frictionless, every sha256, the .duckdb
	$(FACTPACK) validate $(RELEASE)

.PHONY: check
check: $(STAMP) ## lint the annotation files in seeds/
	$(FACTPACK) check seeds/

.PHONY: schema
schema: $(STAMP) ## regenerate schema/annotation.schema.json from schema/tables + vocabularies
	$(FACTPACK) schema --write
	$(FACTPACK) guide --write

.PHONY: release
release: dataset ## check the release in full, then write/update dist/releases.json
	$(FACTPACK) build --full-check
	$(FACTPACK) validate $(RELEASE)
	$(FACTPACK) release-index dist/

.PHONY: test
test: $(STAMP) ## run the test suite
	$(BIN)/python -m pytest -n 2 -q

SIZES ?= 1000 10000 100000
BUILD_ARGS ?=
.PHONY: bench
bench: $(STAMP) ## benchmark the build on generated corpora (SIZES="1000 10000"); writes bench/results.json, bench/RESULTS.md
	$(BIN)/python -m bench.run --sizes $(SIZES) --build-args "$(BUILD_ARGS)"

.PHONY: lint
lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

.PHONY: lock
lock: $(STAMP) ## re-resolve uv.lock after editing pyproject.toml
	$(BIN)/uv lock

.PHONY: site
site: $(STAMP) ## regenerate the review site of the newest release in dist/
	$(FACTPACK) site

.PHONY: browser
browser: ## install headless Chromium + chromedriver (Debian) for the browser tests
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
	  echo "browser: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } \
	  || echo "browser: could not install chromium; the browser tests will skip"; \
	else echo "browser: /usr/bin/chromium is missing and we are not root; the browser tests will skip"; fi

.PHONY: clean
clean: ## remove build/ (dist/ holds releases: remove it by hand)
	rm -rf build

.PHONY: help
help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

.PHONY: docs
docs: $(STAMP) ## regenerate docs/cli.md from the CLI's help
	$(BIN)/python scripts/clidoc.py
