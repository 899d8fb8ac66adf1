# Two entry points: `make demo` and `make test`. Both install what is missing first
# (Debian packages via apt-get, as root or through sudo).
SHELL := /bin/bash
comma := ,
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
NAME := acs-ingestion-exporter
BIN := .build/debug/$(NAME)
BUILD_PACKAGES := libmicrohttpd-dev libsqlite3-dev zlib1g-dev pkg-config libgnutls28-dev libcrypt-dev
# For tests/e2e/test_install.py: systemd (systemd-analyze, systemd-socket-activate),
# man-db (man -l), zsh and fish (their completion scripts). The store tests start a PostgreSQL
# cluster of their own (postgresql), with certificates made by openssl. jsonnet renders the
# monitoring mixin (mixin/) and the Kubernetes manifests (deploy/kubernetes/).
TEST_PACKAGES := prometheus prometheus-alertmanager python3-yaml chromium systemd man-db zsh fish postgresql openssl jsonnet
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

# --- Install layout (GNU names; DESTDIR for staging) -------------------------------------
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
# systemd only reads ConfigurationDirectory= under /etc, whatever the prefix.
SYSCONFDIR ?= /etc
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
UNITS := $(NAME).service $(NAME)-socket.service $(NAME).socket

# Generated from the built binary: the man page and the shell completions.
GENERATED := .build/generated
MAN_PAGE := $(GENERATED)/$(NAME).1
COMPLETIONS := $(GENERATED)/completions
# generate-manual stamps the page with a date: the commit's, like the binary's build date.
MAN_DATE := $(if $(ACS_BUILD_DATE),$(shell d='$(ACS_BUILD_DATE)'; echo $${d:0:4}-$${d:4:2}-$${d:6:2}))

# Release tarball: a static-stdlib release build in its own scratch path.
DIST_BUILD := .build-dist
DIST_BIN := $(DIST_BUILD)/release/$(NAME)
DIST_DIR := dist

.PHONY: demo test test-dist test-image soak fairness mixin image release build setup setup-test setup-bench bench-tools bench bench-compare clean man \
	completions install install-files \
	uninstall dist dist-archive

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
	@python3 -c 'import pytest, xdist, prometheus_client' 2>/dev/null || python3 -m pip install -q pytest pytest-xdist prometheus_client
	@command -v kubernetes-validate >/dev/null || python3 -m pip install -q kubernetes-validate

setup-bench: setup
	$(call apt_install,$(BENCH_PACKAGES))

build: setup
	swift build

## The exporter against its built-in Adobe simulator; prints the URLs to open.
demo: build
	$(BIN) --demo

## Every test: Swift unit, end-to-end and process tests, the rule and Alertmanager
## checks, the end-to-end run with a real Prometheus, and the installed tree.
test: setup-test
	scripts/check-imports.py
	@# The shipped rules, dashboards and manifests are the mixin's output (first: no build needed).
	scripts/render-mixin.py --check
	python3 -m pytest -q tests/deploy
	swift build --build-tests
	swift test --skip ClusterProcessTests --skip BusyPoolTests --skip SoakTests --skip ConnectionFairnessTests
	@# Failover's timing bounds (lease TTL + poll interval) are measured with the machine to
	@# themselves, not beside the other suites that run in parallel; so is a server beside
	@# a pool filled on purpose, a scraper's latency beside a flood of slow connections,
	@# and the soak's bound on the age of the last poll.
	swift test --skip-build --filter ClusterProcessTests
	swift test --skip-build --filter BusyPoolTests
	swift test --skip-build --filter ConnectionFairnessTests
	ACS_SOAK_SECONDS=45 swift test --skip-build --filter SoakTests
	alerts/check.sh
	@# The end-to-end files mostly wait (scrapes every second, alerts), so three run side by side
	@# even on two cores (pytest-xdist; each worker takes its own ports, see free_port in
	@# tests/e2e/conftest.py); a file stays on one worker, so its module fixtures start once.
	@# The failover's bounds (a 3 s lease, a kill 1.5 s before a request fails) are measured
	@# with the suite's other processes stopped, as for ClusterProcessTests above.
	ACS_EXPORTER_BIN=$(BIN) python3 -m pytest -q -n 3 --dist loadfile tests/e2e --ignore tests/e2e/test_ha_prometheus.py
	ACS_EXPORTER_BIN=$(BIN) python3 -m pytest -q tests/e2e/test_ha_prometheus.py

## Slow and idle connections from a few addresses against one scrape a second, each
## scenario for FAIRNESS_SECONDS (default 60; make test runs 10 s of each).
fairness: setup-test
	swift build --build-tests
	ACS_FAIRNESS_SECONDS=$(or $(FAIRNESS_SECONDS),60) swift test --skip-build --filter ConnectionFairnessTests

## Ten tenants under mixed upstream faults for five minutes (make test runs 45 s of it).
soak: setup-test
	swift build --build-tests
	ACS_SOAK_SECONDS=$(or $(SOAK_SECONDS),300) swift test --skip-build --filter SoakTests

## The rules file, the dashboards and the Kubernetes manifests, rendered from mixin/ and
## deploy/kubernetes/manifests.jsonnet (the committed files are this output).
mixin:
	$(call apt_install,jsonnet python3-yaml)
	scripts/render-mixin.py

## The release tarball, checked on its own (many minutes: a static release build).
test-dist: setup-test dist
	ACS_DIST_DIR=$(DIST_DIR) python3 -m pytest -q tests/dist

## The man page and shell completions, from the built binary.
man completions: build
	@$(MAKE) --no-print-directory $(GENERATED_FILES)

# Files made from $(BIN), remade only when it was relinked (generate-manual costs ~20 s).
GENERATED_FILES := $(MAN_PAGE) $(COMPLETIONS)/$(NAME).bash $(COMPLETIONS)/_$(NAME) $(COMPLETIONS)/$(NAME).fish

# swift-argument-parser's generate-manual plugin (it builds the package in debug first:
# a no-op after `make build`). It copies a discussion's blank lines verbatim: mdoc wants .Pp.
$(MAN_PAGE): $(BIN)
	swift package plugin generate-manual --configuration debug $(if $(MAN_DATE),--date $(MAN_DATE))
	@mkdir -p $(@D)
	sed 's/^$$/.Pp/' .build/plugins/GenerateManual/outputs/$(NAME)/$(NAME).1 > $@

$(COMPLETIONS)/$(NAME).bash: $(BIN)
	@mkdir -p $(@D)
	$(BIN) --generate-completion-script bash > $@
$(COMPLETIONS)/_$(NAME): $(BIN)
	@mkdir -p $(@D)
	$(BIN) --generate-completion-script zsh > $@
$(COMPLETIONS)/$(NAME).fish: $(BIN)
	@mkdir -p $(@D)
	$(BIN) --generate-completion-script fish > $@

## make install [PREFIX=/usr/local] [DESTDIR=staging dir]: the binary, man page,
## completions, dashboards, alerts, example config and systemd units.
install: build
	@$(MAKE) --no-print-directory install-files INSTALL_BIN=$(BIN)

# What install puts in place; INSTALL_BIN is the binary to install.
install-files: $(GENERATED_FILES)
	install -Dm755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/$(NAME)
	install -Dm644 $(MAN_PAGE) $(DESTDIR)$(MANDIR)/man1/$(NAME).1
	install -Dm644 $(COMPLETIONS)/$(NAME).bash $(DESTDIR)$(DATADIR)/bash-completion/completions/$(NAME)
	install -Dm644 $(COMPLETIONS)/_$(NAME) $(DESTDIR)$(DATADIR)/zsh/site-functions/_$(NAME)
	install -Dm644 $(COMPLETIONS)/$(NAME).fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/$(NAME).fish
	install -d $(DESTDIR)$(DATADIR)/$(NAME)/examples
	install -m644 examples/$(NAME).yml $(DESTDIR)$(DATADIR)/$(NAME)/examples/
	cp -R dashboards alerts $(DESTDIR)$(DATADIR)/$(NAME)/
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	for unit in $(UNITS); do \
	  sed 's|/usr/local/bin/$(NAME)|$(BINDIR)/$(NAME)|' packaging/systemd/$$unit > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$unit; \
	  chmod 644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$unit; \
	done
	@# An edited configuration is never overwritten.
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/$(NAME)/$(NAME).yml ]; then \
	  echo "kept $(DESTDIR)$(SYSCONFDIR)/$(NAME)/$(NAME).yml"; \
	else \
	  install -Dm644 examples/$(NAME).yml $(DESTDIR)$(SYSCONFDIR)/$(NAME)/$(NAME).yml; \
	fi

## Removes what install put in place, except the configuration and the database.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/$(NAME) $(DESTDIR)$(MANDIR)/man1/$(NAME).1 \
	  $(DESTDIR)$(DATADIR)/bash-completion/completions/$(NAME) \
	  $(DESTDIR)$(DATADIR)/zsh/site-functions/_$(NAME) \
	  $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/$(NAME).fish \
	  $(addprefix $(DESTDIR)$(SYSTEMD_UNIT_DIR)/,$(UNITS))
	rm -rf $(DESTDIR)$(DATADIR)/$(NAME)

## dist/acs-ingestion-exporter-VERSION.linux-ARCH.tar.gz and its sha256sums.txt: a release
## binary with the Swift runtime linked in (it runs without the toolchain).
dist: setup man completions release
	@# The platform (linux-amd64…) as the binary itself reports it: one spelling.
	@$(MAKE) --no-print-directory dist-archive \
	  DIST_PLATFORM=$$($(DIST_BIN) --version | sed -n 's|^ *platform: *||p' | tr / -)

## The release binary alone (static Swift runtime), shared by dist and image.
release: setup
	swift build -c release --static-swift-stdlib --scratch-path $(DIST_BUILD)

DIST_STAGE = $(DIST_DIR)/$(NAME)-$(VERSION).$(DIST_PLATFORM)
# The archive's times: the commit's date when known (and gzip -n), so it is reproducible too.
DIST_MTIME := $(if $(ACS_BUILD_DATE),$(shell d='$(ACS_BUILD_DATE)'; echo "$${d:0:4}-$${d:4:2}-$${d:6:2} $${d:9} UTC"))

dist-archive:
	@test -n "$(DIST_PLATFORM)" || { echo "dist: $(DIST_BIN) --version printed no platform" >&2; exit 1; }
	rm -rf $(DIST_STAGE) && mkdir -p $(DIST_STAGE)/completions $(DIST_STAGE)/systemd
	@# Stripped, as Prometheus' release binaries are: the debug info is half the size.
	install -s -m755 $(DIST_BIN) $(DIST_STAGE)/$(NAME)
	install -m644 LICENSE README.md CHANGELOG.md $(MAN_PAGE) examples/$(NAME).yml $(DIST_STAGE)/
	install -m644 $(COMPLETIONS)/* $(DIST_STAGE)/completions/
	install -m644 $(addprefix packaging/systemd/,$(UNITS)) $(DIST_STAGE)/systemd/
	cp -R dashboards alerts $(DIST_STAGE)/
	set -o pipefail; tar --sort=name --owner=0 --group=0 --numeric-owner $(if $(DIST_MTIME),--mtime='$(DIST_MTIME)') \
	  -C $(DIST_DIR) -cf - $(notdir $(DIST_STAGE)) | gzip -9n > $(DIST_STAGE).tar.gz
	cd $(DIST_DIR) && sha256sum $(notdir $(DIST_STAGE)).tar.gz > sha256sums.txt
	@echo "dist: $(DIST_STAGE).tar.gz"

# --- OCI image -----------------------------------------------------------------------
# The runtime packages of the release binary (README's ldd list) and the two data sets it
# reads. mmdebstrap installs them from Debian 12 into a build tree, through this host's apt
# configuration and sources; build-image.py copies out exactly the files the binary loads.
IMAGE_PACKAGES := libmicrohttpd12 libgnutls30 libcrypt1 libsqlite3-0 zlib1g libstdc++6 libgcc-s1 \
	ca-certificates tzdata
IMAGE_BUILD := .build-image
# The host's architecture: an image is built on a host of its own architecture.
IMAGE_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
IMAGE_ROOTFS := $(IMAGE_BUILD)/rootfs-$(IMAGE_ARCH)
IMAGE := $(DIST_DIR)/$(NAME)-$(VERSION).linux-$(IMAGE_ARCH).oci.tar
# The commit's date (the build date the binary carries), RFC 3339.
IMAGE_CREATED := $(if $(ACS_BUILD_DATE),$(shell d='$(ACS_BUILD_DATE)'; echo "$${d:0:4}-$${d:4:2}-$${d:6:2}T$${d:9}Z"))
IMAGE_BUILD_ARGS = --binary $(DIST_BIN) --chroot $(IMAGE_ROOTFS) --config examples/$(NAME).yml --license LICENSE \
	--version $(VERSION) --revision "$(ACS_BUILD_REVISION)" --created $(IMAGE_CREATED) --arch $(IMAGE_ARCH)
APT_SOURCES := $(wildcard /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)

## dist/acs-ingestion-exporter-VERSION.linux-ARCH.oci.tar: `podman load` / `docker load` it.
image: release $(IMAGE_ROOTFS)/.done
	@test -n "$(IMAGE_CREATED)" || { echo "image: no build date (not a git checkout: set SOURCE_DATE_EPOCH)" >&2; exit 1; }
	@platform=$$($(DIST_BIN) --version | sed -n 's|^ *platform: *||p'); \
	test "$$platform" = "linux/$(IMAGE_ARCH)" || { echo "image: the binary is $$platform, the host $(IMAGE_ARCH)" >&2; exit 1; }
	packaging/container/build-image.py $(IMAGE_BUILD_ARGS) --output $(IMAGE)

# The Debian tree, made once per architecture (minutes: it downloads ~30 packages).
$(IMAGE_ROOTFS)/.done:
	$(call apt_install,mmdebstrap binutils)
	rm -rf $(IMAGE_ROOTFS)
	mmdebstrap --variant=essential --architectures=$(IMAGE_ARCH) --include=$(subst $(eval) ,$(comma),$(IMAGE_PACKAGES)) \
	  $(foreach f,$(wildcard /etc/apt/apt.conf.d/*),--aptopt=$(f)) bookworm $(IMAGE_ROOTFS) $(APT_SOURCES)
	touch $@

## The image in podman: read-only root, a data volume, the simulator, restart, stop.
test-image: setup-test image
	$(call apt_install,podman runc)
	@# Reproducible: a second build of the same commit is the same bytes.
	packaging/container/build-image.py $(IMAGE_BUILD_ARGS) --output $(IMAGE_BUILD)/again.oci.tar
	cmp $(IMAGE) $(IMAGE_BUILD)/again.oci.tar
	ACS_IMAGE=$(IMAGE) python3 -m pytest -q tests/image

## The exporter's release build and the benchmark tools, a package of their own (bench/Package.swift).
bench-tools: setup-bench
	swift build -c release
	swift build -c release --package-path bench --scratch-path .build-bench

bench: bench-tools
	bench/run.sh

## This build against the first version (BASE_REV), each as a ratio to the reference.
BASE_REV ?= 8c22705
BASE_DIR := .build-base
bench-compare: bench-tools
	@rev=$$(git rev-parse --verify "$(BASE_REV)^{commit}") && \
	if [ "$$(cat $(BASE_DIR)/src.rev 2>/dev/null)" != "$$rev" ]; then \
	  rm -rf $(BASE_DIR)/src && mkdir -p $(BASE_DIR)/src && \
	  git archive "$$rev" > $(BASE_DIR)/src.tar && tar -xf $(BASE_DIR)/src.tar -C $(BASE_DIR)/src && \
	  rm $(BASE_DIR)/src.tar && echo "$$rev" > $(BASE_DIR)/src.rev; fi
	swift build -c release --package-path $(BASE_DIR)/src --scratch-path $(BASE_DIR)/build
	bench/compare.sh

clean:
	rm -rf .build .build-bench $(DIST_BUILD) $(DIST_DIR) $(BASE_DIR) $(IMAGE_BUILD) data bench/out

## libFuzzer targets (fuzz/), each run for FUZZ_SECONDS (default 60, about 10 min in all, build included);
## fails on the first crash. Separate from `make test`; results in docs/web-security.md.
.PHONY: fuzz
fuzz: setup
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) fuzz/run.sh
