#!/usr/bin/env bash
# Prepares the build context of the Containerfile: DIR/rootfs holds exactly what the image
# contains, owned by root.
#
#   packaging/container-context.sh [--binary PATH] DIR
#
#   /usr/bin/nbu-exporter      the stripped release binary
#   its shared libraries       what ldd resolves (libc.so.6, libgcc_s.so.1) at the path it
#                              resolves them to, and the loader at the binary's PT_INTERP
#   /etc/nbu-exporter/         empty: the expected mount (a directory, so a ConfigMap's
#                              ..data swap reaches the exporter)
#   /tmp                       1777, writable by the image's user
# Nothing else: no shell, no CA bundle (TLS uses the roots compiled into the binary, or a
# site's caFile), no passwd (the image runs as the numeric 65532).
source "$(dirname "$0")/lib.sh"

binary=""
while [ $# -gt 1 ]; do
    case $1 in
        --binary) binary=$2; shift 2 ;;
        *) break ;;
    esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--binary PATH] DIR" >&2; exit 2; }
rootfs="$1/rootfs"
umask 022

rm -rf "$rootfs"
mkdir -p "$rootfs/usr/bin"
stripped_binary "$binary" "$rootfs/usr/bin/nbu-exporter"

# ldd prints `name => /path (addr)` for libraries and `/path (addr)` for the loader; the
# vDSO has no file.
libraries=$(ldd "$rootfs/usr/bin/nbu-exporter" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
[ -n "$libraries" ] || { echo "error: ldd found no shared libraries (a static binary?)" >&2; exit 1; }
for library in $libraries; do
    install -D -m 0755 "$(readlink -f "$library")" "$rootfs$library"
done
install -d -m 0755 "$rootfs/etc/nbu-exporter"
install -d -m 1777 "$rootfs/tmp"
binary_version "$rootfs/usr/bin/nbu-exporter" > "$1/version"
(cd "$rootfs" && find . -mindepth 1 | LC_ALL=C sort)
