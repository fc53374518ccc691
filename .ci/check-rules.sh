#!/usr/bin/env bash
# promtool check/test of deploy/prometheus; installs Debian's prometheus package if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "installing promtool (Debian package prometheus)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        # The package's postinst may try to start a service; there is none to start here.
        apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    fi
fi
if ! command -v promtool >/dev/null 2>&1; then
    echo "SKIP: promtool is not available and cannot be installed on this machine"
    exit 0
fi
cd deploy/prometheus
promtool check rules nbu-exporter.rules.yml
promtool test rules nbu-exporter.rules.test.yml
