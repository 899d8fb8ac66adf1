# Two entry points: `make demo` and `make test`. Both install what is missing first
# (Debian packages via apt-get, as root or through sudo).
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := .build/debug/acs-ingestion-exporter
BUILD_PACKAGES := libmicrohttpd-dev libsqlite3-dev zlib1g-dev pkg-config
TEST_PACKAGES := prometheus prometheus-alertmanager python3-yaml chromium
BENCH_PACKAGES := wrk gcc bc curl

.PHONY: demo test build setup setup-test setup-bench bench clean

define apt_install
	@need=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || need="$$need $$p"; done; \
	if [ -n "$$need" ]; then \
	  echo "installing:$$need"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$need >/dev/null; \
	fi
endef

setup:
	$(call apt_install,$(BUILD_PACKAGES))

setup-test: setup
	$(call apt_install,$(TEST_PACKAGES))
	@python3 -c 'import pytest, prometheus_client' 2>/dev/null || python3 -m pip install -q pytest prometheus_client

setup-bench: setup
	$(call apt_install,$(BENCH_PACKAGES))

build: setup
	swift build

## The exporter against its built-in Adobe simulator; prints the URLs to open.
demo: build
	$(BIN) --demo

## Every test: Swift unit, end-to-end and process tests, the rule and Alertmanager
## checks, and the end-to-end run with a real Prometheus.
test: setup-test
	scripts/check-imports.py
	swift build --build-tests
	swift test
	alerts/check.sh
	ACS_EXPORTER_BIN=$(BIN) python3 -m pytest -q tests/e2e

bench: setup-bench
	swift build -c release
	bench/run.sh

clean:
	rm -rf .build data bench/out
