#!/usr/bin/env bash
# Builds the RPM with rpmbuild (Debian's `rpm` package works: the spec compiles nothing).
#
#   packaging/build-rpm.sh [--binary PATH] [--release N] [--out DIR]
#
# --binary  an already built release binary (default: `cargo build --release` now)
# --release the RPM release, 1 for the first package of a version (default 1)
# --out     where the .rpm goes (default target/packaging)
# The binary links against the build machine's glibc: for RHEL 8 (glibc 2.28), build it
# on RHEL 8 or older (docs/release.md). Prints the package's path.
source "$(dirname "$0")/lib.sh"

binary="" release=1 out="$repo/target/packaging"
while [ $# -gt 0 ]; do
    case $1 in
        --binary) binary=$2; shift 2 ;;
        --release) release=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--binary PATH] [--release N] [--out DIR]" >&2; exit 2 ;;
    esac
done

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(source_date_epoch)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/build"
stripped_binary "$binary" "$work/nbu-exporter"
version=$(binary_version "$work/nbu-exporter")
stage_tree "$work/stage" /usr/share/zsh/site-functions "$work/nbu-exporter"
install -D -m 0644 "$packaging/nbu-exporter.preset" \
    "$work/stage/usr/lib/systemd/system-preset/80-nbu-exporter.preset"

# %doc and %license take these from the build directory.
install -m 0644 "$(license_file)" "$work/build/LICENSE"
install -m 0644 "$repo/README.md" "$repo/docs/operations.md" "$work/build/"
crate_list > "$work/build/crates.txt"

rpmbuild -bb --quiet \
    --define "_topdir $work/rpmbuild" \
    --define "_builddir $work/build" \
    --define "_rpmdir $out" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "_binary_payload w6.xzdio" \
    --define "use_source_date_epoch_as_buildtime 1" \
    --define "clamp_mtime_to_source_date_epoch 1" \
    --define "pkg_version $version" \
    --define "pkg_release $release" \
    --define "stage $work/stage" \
    "$packaging/nbu-exporter.spec" >&2
echo "$out/nbu-exporter-$version-$release.$(rpm --eval '%{_arch}').rpm"
