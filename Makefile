# page-tracker: `make run` and `make test` do all the set-up they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --constraint constraints.txt

.DEFAULT_GOAL := help
IMAGE_TAG ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo dev)
# The commit an image is built from, for the page_tracker_build_info metric.
image compose-up compose-e2e container-ci: export PAGE_TRACKER_REVISION ?= \
  $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
COMPOSE ?= docker compose
LAYERS := test/repo test/unit test/service test/integration test/e2e
# Browser tests drive Debian's Chromium through Playwright (its own browser download is not used);
# `make test CHROMIUM=/path/to/chrome` uses another Chromium-based browser instead.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
# The metrics tests scrape with Debian's Prometheus, started by the tests on a free port.
PROMETHEUS ?= /usr/bin/prometheus
export PROMETHEUS
# `make test-dates` moves the clock of the tests, and of the servers they start, this far ahead.
FAKETIME := /usr/bin/faketime
# The load generator of `make bench` and of the slow-client tests.
WRK := /usr/bin/wrk
# The docs' runnable shell blocks call the API with curl (test/e2e/test_docs.py).
CURL := /usr/bin/curl
DATE_OFFSETS := +400d +3y
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help run test test-dates lint typecheck unit service integration e2e bench constraints clean \
	image compose-up compose-e2e container-ci

help:  ## List the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# Stamps record what is installed, so a venv is rebuilt only when the project's files change.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) --editable .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PIP) --editable '.[dev]'
	@touch $@

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

$(FAKETIME):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq faketime >/dev/null

$(WRK):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null

$(CURL):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq curl >/dev/null

# Without recommends: the binary alone, not the node exporter and its collectors.
$(PROMETHEUS):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	  prometheus >/dev/null

run: $(VENV)/.runtime  ## Serve on http://127.0.0.1:8000/ with an embedded Redis (unless REDIS_URL is set).
	$(BIN)/page-tracker serve

test: lint typecheck $(VENV)/.dev $(CHROMIUM) $(PROMETHEUS) $(WRK) $(CURL)  ## Lint, type-check, then every test layer with the coverage gate.
	$(BIN)/python -m pytest $(LAYERS) --cov

# libfaketime leaves the monotonic clock alone, which timed waits need; test/faketime holds a
# sitecustomize that mends time.sleep, which Debian's libfaketime then breaks, in every Python
# process of the run (pytest and the servers it starts).
test-dates: $(VENV)/.dev $(CHROMIUM) $(FAKETIME)  ## The tests marked `dates`, with the clock 400 days and 3 years ahead.
	set -e; for offset in $(DATE_OFFSETS); do \
	  echo "== the clock at $$offset: $$($(FAKETIME) -f "$$offset" date --utc --iso-8601=seconds)"; \
	  DONT_FAKE_MONOTONIC=1 PYTHONPATH=$(CURDIR)/test/faketime $(FAKETIME) -f "$$offset" \
	    $(BIN)/python -m pytest -m dates $(LAYERS); \
	done

lint: $(VENV)/.dev  ## Ruff (lint and format check), bandit, hadolint and actionlint.
	$(BIN)/ruff check src test bench scripts
	$(BIN)/ruff format --check src test bench scripts
	$(BIN)/bandit --quiet --configfile pyproject.toml --recursive src
	$(BIN)/hadolint Dockerfile
	$(BIN)/actionlint

typecheck: $(VENV)/.dev  ## mypy, strict, on src/, bench/ and test/
	$(BIN)/mypy

unit: $(VENV)/.dev  ## Unit tests, and the backend tests on fakeredis: no Redis server needed.
	$(BIN)/python -m pytest test/unit
	$(BIN)/python -m pytest -m fake test/integration

service: $(VENV)/.dev  ## The services in the users' words, on a real redis-server, with no HTTP.
	$(BIN)/python -m pytest test/service

integration: $(VENV)/.dev  ## Integration tests alone (a real redis-server on a free port).
	$(BIN)/python -m pytest test/integration

e2e: $(VENV)/.dev $(CHROMIUM) $(PROMETHEUS) $(WRK) $(CURL)  ## End-to-end tests against a real `page-tracker serve`.
	$(BIN)/python -m pytest test/e2e

bench: $(VENV)/.dev $(WRK)  ## Load page-tracker and the seed app; print req/s, latencies and ratios.
	$(BIN)/python -m bench

image:  ## Build the image, tagged with the commit SHA and latest.
	docker build --build-arg REVISION=$(PAGE_TRACKER_REVISION) \
	  --tag page-tracker:$(IMAGE_TAG) --tag page-tracker:latest .

compose-up:  ## Run the stack in the background, serving on 127.0.0.1:8000.
	PAGE_TRACKER_TAG=$(IMAGE_TAG) $(COMPOSE) up --build --detach

compose-e2e:  ## Run the e2e tests against the stack; exits with their result.
	PAGE_TRACKER_TAG=$(IMAGE_TAG) $(COMPOSE) --profile testing up --build --exit-code-from test-service

container-ci: $(VENV)/.dev  ## The container pipeline with no registry or running engine (root).
	scripts/container-ci.sh

constraints: $(VENV)/.dev  ## Re-pin every dependency from the dev venv into constraints.txt.
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt
	@# redis needs async-timeout only below Python 3.11.3 (Debian 12 has 3.11.2), so pip freeze
	@# here never sees it: keep it pinned for those machines.
	echo "async-timeout==5.0.1" >> constraints.txt

clean:  ## Remove the venv and caches.
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage build src/*.egg-info
