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

# A released version never changes: the build, the changelog section of this version (rows
# changed against the previous release in dist/, and the note: NOTE="..." or release_notes in
# schema/package.yaml), a rebuild that copies it into the release (--force: the changelog is not
# part of the build's inputs key), the full check, then the record in schema/releases.yaml and
# dist/releases.json. Commit schema/changelog.md and schema/releases.yaml afterwards.
NOTE ?=
.PHONY: release
release: dataset ## publish this version: changelog, full check, record it, update dist/releases.json
	$(FACTPACK) changelog $(RELEASE) --dist dist $(if $(NOTE),--note "$(NOTE)")
	$(FACTPACK) build --force --full-check
	$(FACTPACK) validate $(RELEASE)
	$(FACTPACK) record $(RELEASE)
	$(FACTPACK) release-index dist/

.PHONY: test
test: $(STAMP) ## run the test suite
	$(BIN)/python -m pytest -n 2 -q

SIZES ?= 1000 10000 100000
BUILD_ARGS ?=
.PHONY: bench
bench: $(STAMP) ## benchmark the build on generated corpora (SIZES="1000 10000"); writes bench/results.json, bench/RESULTS.md
	$(BIN)/python -m bench.run --sizes $(SIZES) --build-args "$(BUILD_ARGS)"

# Interop: the release opened by the clients researchers use, each in its own throwaway venv
# under build/interop/ installed from interop/<client>.txt (pinned, pip --require-hashes;
# regenerate one with `.venv/bin/uv pip compile --generate-hashes interop/<client>.in`).
INTEROP_CLIENTS := frictionless mlcroissant datasets duckdb1 cffconvert
INTEROP_DIR := build/interop

$(INTEROP_DIR)/%/.installed: interop/%.txt
	@rm -rf $(INTEROP_DIR)/$*
	@$(PYTHON) -m venv $(INTEROP_DIR)/$*
	@echo "interop: installing $* from $<"
	@$(INTEROP_DIR)/$*/bin/python -m pip install --quiet --disable-pip-version-check \
	  --require-hashes --no-deps --no-compile -r $< \
	  || { echo "interop: $*: cannot install $< (see pip's message above)"; exit 1; }
	@touch $@

.PHONY: interop-venvs
interop-venvs: $(foreach c,$(INTEROP_CLIENTS),$(INTEROP_DIR)/$(c)/.installed)

# R's readr from the system's packages (Debian: r-cran-readr) when R is missing and we are root;
# without it the readr check says it skipped.
.PHONY: interop-r
interop-r:
	@if command -v Rscript >/dev/null && Rscript -e 'library(readr)' >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends r-cran-readr >/dev/null; } \
	  || echo "interop: could not install r-cran-readr; the readr check will skip"; \
	else echo "interop: R's readr is missing and we are not root; the readr check will skip"; fi

.PHONY: interop
interop: $(STAMP) ## build a fixture release and open it with frictionless, mlcroissant, datasets, DuckDB 1.x, cffconvert, readr
	@$(MAKE) --no-print-directory -j 3 interop-venvs interop-r
	$(BIN)/python interop/run.py --venvs $(INTEROP_DIR) --clients "$(INTEROP_CLIENTS) readr" --strict-card

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
