#!/usr/bin/env bash
# `promtool check metrics` on the exporter's own /metrics with every collector enabled: runs
# the demo (which enables them all against the simulator), waits until every collector's
# families are there, and lints the output. The only findings allowed are the `_count`
# names the exporter keeps from the Go exporter, so its users' dashboards keep working.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null 2>&1; then
    echo "SKIP: promtool is not available (check-rules.sh installs it)"
    exit 0
fi
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cargo build --quiet --bin nbu-exporter
target/debug/nbu-exporter demo --port "$port" >"$tmp/demo.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
families="nbu_jobs_count nbu_alerts_count nbu_malware_files_scanned nbu_catalog_images_count nbu_slo_count \
nbu_tape_drives_count nbu_tape_media_count nbu_tape_robot_device_hosts nbu_tape_pool_partially_full \
nbu_disk_pool_up nbu_client_last_successful_backup_timestamp_seconds"
ready=""
for _ in $(seq 1 240); do
    if curl -sf "http://127.0.0.1:$port/metrics" >"$tmp/metrics"; then
        ready=yes
        for f in $families; do
            grep -q "^$f{" "$tmp/metrics" || { ready=""; break; }
        done
        [ -n "$ready" ] && break
    fi
    sleep 0.5
done
if [ -z "$ready" ]; then
    echo "FAIL: the demo's /metrics never showed every collector's families"
    tail -20 "$tmp/demo.log"
    exit 1
fi
inherited="nbu_jobs_count nbu_status_count nbu_jobs_files_count nbu_jobs_state_count nbu_jobs_queued_count \
nbu_alerts_count nbu_malware_scan_count nbu_catalog_images_count nbu_slo_count nbu_slo_subscription_count \
nbu_tape_drives_count nbu_tape_media_count nbu_disk_pool_volume_count nbu_client_jobs_count"
promtool check metrics <"$tmp/metrics" >"$tmp/lint" 2>&1 || true
cp "$tmp/lint" "$tmp/left"
for name in $inherited; do
    grep -v -x "$name non-histogram and non-summary metrics should not have \"_count\" suffix" "$tmp/left" >"$tmp/next" || true
    mv "$tmp/next" "$tmp/left"
done
if [ -s "$tmp/left" ]; then
    echo "FAIL: promtool check metrics found:"
    cat "$tmp/left"
    exit 1
fi
echo "promtool check metrics: clean apart from $(wc -l <"$tmp/lint") inherited _count names"
