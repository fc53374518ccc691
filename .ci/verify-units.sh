#!/usr/bin/env bash
# systemd-analyze verify of unit files.
#
#   .ci/verify-units.sh            both unit files of systemd/, against the debug build
#   .ci/verify-units.sh UNIT...    the given unit files as they are (absolute paths; e.g. the
#                                  ones a package installed, .ci/package.sh)
#
# Type=notify-reload needs systemd >= 253; when the local systemd is older (Debian 12 has
# 252), the backported systemd-analyze is unpacked under target/ci/ and run from there
# (nothing is installed system-wide; a second call reuses it).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ $# -eq 0 ]; then
    cargo build --quiet --bin nbu-exporter
    bin="$PWD/target/debug/nbu-exporter"
    for unit in systemd/*.service; do
        # Point ExecStart= and friends at the built binary so verify can check it exists.
        sed "s#/usr/local/bin/nbu-exporter#$bin#g" "$unit" > "$work/$(basename "$unit")"
    done
    set -- "$work"/nbu-exporter.service "$work"/nbu-exporter-notify-reload.service
fi

analyze=(systemd-analyze)
version=$(systemd-analyze --version 2>/dev/null | awk 'NR==1 {print $2}' || true)
if [ -z "$version" ] || [ "$version" -lt 253 ]; then
    backport="$PWD/target/ci/systemd-backport"
    if [ ! -x "$backport/usr/bin/systemd-analyze" ]; then
        echo "local systemd is ${version:-missing}; fetching Debian's backported systemd-analyze"
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "SKIP: no apt-get to fetch systemd >= 253"
            exit 0
        fi
        list=/etc/apt/sources.list.d/nbu-exporter-ci-backports.list
        codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
        echo "deb http://deb.debian.org/debian ${codename}-backports main" > "$list"
        trap 'rm -rf "$work"; rm -f "$list"; apt-get update -qq >/dev/null 2>&1 || true' EXIT
        apt-get update -qq >/dev/null
        (cd "$work" && apt-get download -qq "systemd/${codename}-backports" "libsystemd-shared/${codename}-backports" 2>/dev/null)
        rm -rf "$backport" && mkdir -p "$backport"
        for deb in "$work"/*.deb; do dpkg -x "$deb" "$backport"; done
    fi
    libdir=$(dirname "$(find "$backport" -name 'libsystemd-shared-*.so' | head -n 1)")
    analyze=(env LD_LIBRARY_PATH="$libdir" "$backport/usr/bin/systemd-analyze")
fi
"${analyze[@]}" --version | head -n 1
"${analyze[@]}" verify "$@"
echo "verified: $*"
