#!/usr/bin/env bash
# Validates the monitoring content: Prometheus rules, their unit tests and the
# example Alertmanager configuration. Exits non-zero on the first failure.
#
#   alerts/check.sh            (from any directory)
#
# Needs promtool (Debian: prometheus). amtool (Debian: prometheus-alertmanager)
# is optional: without it the Alertmanager checks are skipped with a notice.
# PROMTOOL / AMTOOL override the binaries.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."

promtool="${PROMTOOL:-promtool}"
amtool="${AMTOOL:-amtool}"

if ! command -v "$promtool" >/dev/null 2>&1; then
    echo "check.sh: promtool not found (apt-get install prometheus)" >&2
    exit 1
fi

echo "== promtool check rules"
"$promtool" check rules alerts/acs-ingestion.rules.yml

echo "== promtool test rules"
"$promtool" test rules alerts/tests/*.yml

if command -v "$amtool" >/dev/null 2>&1; then
    config=alerts/alertmanager.example.yml
    echo "== amtool check-config"
    "$amtool" check-config "$config"

    echo "== amtool config routes test"
    # severity -> expected receiver
    for pair in critical:acs-ingestion-pager warning:acs-ingestion-tickets info:null; do
        severity="${pair%%:*}"
        receiver="${pair#*:}"
        "$amtool" config routes test --config.file="$config" \
            --verify.receivers="$receiver" \
            alertname=AcsIngestionRouteCheck severity="$severity" 2>/dev/null
    done
else
    echo "== amtool not found: skipping Alertmanager checks (apt-get install prometheus-alertmanager)"
fi

echo "check.sh: all monitoring checks passed"
