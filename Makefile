# Two entry points: `make demo` and `make test`. Both install what is missing first
# (Debian packages via apt-get, as root or through sudo).
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
NAME := acs-ingestion-exporter
BIN := .build/debug/$(NAME)
BUILD_PACKAGES := libmicrohttpd-dev libsqlite3-dev zlib1g-dev pkg-config
TEST_PACKAGES := prometheus prometheus-alertmanager python3-yaml chromium
BENCH_PACKAGES := wrk gcc bc curl

# The version is spelled once, in Package.swift.
VERSION := $(shell sed -n 's/^let version = "\(.*\)"$$/\1/p' Package.swift)

# --- Build stamp ------------------------------------------------------------------------
# Package.swift turns these into -D defines of Sources/CBuildInfo alone. They are exported
# to every recipe, so each `swift` command below evaluates the manifest with the same
# values: nothing is rebuilt between `make build`, `swift build --build-tests` and
# `swift test`, and a new commit recompiles one C file and relinks.
# In a git checkout of this tree: its commit, branch and the commit's date (UTC), so two
# builds of one commit are identical. Outside one (a source tarball, or no git) the revision
# is exported empty, and --version says the build is not from a git checkout.
IN_GIT := $(shell [ "$$(git -C '$(CURDIR)' rev-parse --show-toplevel 2>/dev/null)" = '$(CURDIR)' ] && echo yes)
export ACS_BUILD_REVISION := $(if $(IN_GIT),$(shell git rev-parse HEAD))
export ACS_BUILD_BRANCH := $(if $(IN_GIT),$(shell git rev-parse --abbrev-ref HEAD))
export ACS_BUILD_DATE := $(if $(SOURCE_DATE_EPOCH),$(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y%m%d-%H:%M:%S),$(if $(IN_GIT),$(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d-%H:%M:%S)))
export ACS_BUILD_USER := $(shell id -un)@$(shell hostname)
export ACS_SWIFT_VERSION := $(shell swift --version 2>/dev/null | sed -n 's/.*Swift version \([^ ]*\).*/\1/p' | head -n1)

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
	@python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest

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
	swift build --build-tests
	swift test
	alerts/check.sh
	ACS_EXPORTER_BIN=$(BIN) python3 -m pytest -q tests/e2e

bench: setup-bench
	swift build -c release
	bench/run.sh

clean:
	rm -rf .build data bench/out
