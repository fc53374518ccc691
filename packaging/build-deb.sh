#!/usr/bin/env bash
# Builds the Debian package with dpkg-deb (no debhelper, no cargo-deb: under a second on
# top of the release build).
#
#   packaging/build-deb.sh [--binary PATH] [--revision N] [--out DIR]
#
# --binary   an already built release binary (default: `cargo build --release` now)
# --revision the Debian revision, 1 for the first package of a version (default 1)
# --out      where the .deb goes (default target/packaging)
# NBU_EXPORTER_MAINTAINER overrides the Maintainer field.
# Needs dpkg-dev (dpkg-shlibdeps, and binutils for strip). Prints the package's path.
source "$(dirname "$0")/lib.sh"

binary="" revision=1 out="$repo/target/packaging"
while [ $# -gt 0 ]; do
    case $1 in
        --binary) binary=$2; shift 2 ;;
        --revision) revision=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--binary PATH] [--revision N] [--out DIR]" >&2; exit 2 ;;
    esac
done

arch=$(dpkg --print-architecture)
maintainer=${NBU_EXPORTER_MAINTAINER:-nbu-exporter maintainers <maintainers@nbu-exporter.invalid>}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(source_date_epoch)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The tree sits where dpkg-shlibdeps expects a package's files (debian/PACKAGE).
root="$work/src/debian/nbu-exporter"
mkdir -p "$out"
stripped_binary "$binary" "$work/nbu-exporter"
upstream_version=$(binary_version "$work/nbu-exporter")
version="$upstream_version-$revision"
stage_tree "$root" /usr/share/zsh/vendor-completions "$work/nbu-exporter"

doc="$root/usr/share/doc/nbu-exporter"
install -d "$doc" "$root/usr/share/lintian/overrides"
# README.md stays uncompressed: the units' Documentation= points at it.
install -m 0644 "$repo/README.md" "$doc/README.md"
gzip -9n < "$repo/docs/operations.md" > "$doc/operations.md.gz"
first_year=$(git -C "$repo" log --reverse --format=%cd --date=format:%Y 2>/dev/null | sed -n 1p)
last_year=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
years=${first_year:-$last_year}
[ "$years" = "$last_year" ] || years="$years-$last_year"
sed -e "s|@MAINTAINER@|$maintainer|" -e "s|@YEARS@|$years|" "$packaging/debian/copyright" > "$doc/copyright"
crate_list | gzip -9n > "$doc/crates.txt.gz"
printf '%s\n' \
    "nbu-exporter ($version) unstable; urgency=medium" "" \
    "  * Package of nbu-exporter $upstream_version; the project's changes are in its" \
    "    git history and README." "" \
    " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")" \
    | gzip -9n > "$doc/changelog.Debian.gz"
install -m 0644 "$packaging/debian/lintian-overrides" "$root/usr/share/lintian/overrides/nbu-exporter"
chmod 0644 "$doc"/*.gz "$doc/copyright"

# Library dependencies as debhelper would compute them: dpkg-shlibdeps wants a
# debian/control beside it, so it runs in a scratch source tree.
install -d -m 0755 "$root/DEBIAN"
printf 'Source: nbu-exporter\n\nPackage: nbu-exporter\nArchitecture: any\n' > "$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O debian/nbu-exporter/usr/bin/nbu-exporter | sed -n 's/^shlibs:Depends=//p')

for script in postinst prerm postrm; do
    install -m 0755 "$packaging/debian/$script" "$root/DEBIAN/$script"
done
install -m 0644 "$packaging/debian/conffiles" "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
    | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/md5sums"
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
    -e "s|@INSTALLED_SIZE@|$installed_size|" -e "s|@SHLIBS@|$shlibs|" \
    "$packaging/debian/control.in" > "$root/DEBIAN/control"

deb="$out/nbu-exporter_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
