#!/usr/bin/env bash
# Builds the .deb and the .rpm from one release build, inspects both, runs lintian, and
# takes the .deb through install, config edit, upgrades, remove and purge with dpkg on this
# machine (as root, without a running systemd), checking that the edit survives. Also
# verifies the installed units, renders the installed man page and exercises the
# installed bash completion. Installs what it needs with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out="$repo/target/packaging"
work=$(mktemp -d)

step() { printf -- '--- %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
started=$SECONDS
lap=$SECONDS
timing() { printf -- '    (%s: %ds)\n' "$1" $((SECONDS - lap)); lap=$SECONDS; }

# Tools: dpkg-dev (dpkg-shlibdeps, strip), rpm (rpmbuild), lintian, man-db and groff-base
# (man -l), init-system-helpers (deb-systemd-helper) and systemd (systemd-sysusers).
missing=()
for tool in dpkg-shlibdeps:dpkg-dev strip:binutils rpmbuild:rpm lintian:lintian man:man-db \
    groff:groff-base deb-systemd-helper:init-system-helpers systemd-sysusers:systemd; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
timing tools

# This test installs and purges the package system-wide: never over a real installation.
if [[ "$(dpkg-query -W -f='${Status}' nbu-exporter 2>/dev/null || true)" == *installed* ]]; then
    fail "an nbu-exporter package is installed on this machine; not touching it"
fi
[ ! -e /etc/nbu-exporter ] || fail "/etc/nbu-exporter exists (a manual installation?); not touching it"
user_existed=no
getent passwd nbu-exporter >/dev/null && user_existed=yes
cleanup() {
    rm -f /etc/nbu-exporter/london.key
    dpkg -P nbu-exporter >/dev/null 2>&1 || true
    # The package keeps its system user on purge (Debian practice); this test removes the
    # one it made, so the machine is left as it was found.
    if [ "$user_existed" = no ] && getent passwd nbu-exporter >/dev/null; then
        userdel nbu-exporter >/dev/null 2>&1 || true
        groupdel nbu-exporter >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

step "release build (cargo build --release --locked)"
cargo build --release --locked --quiet --bin nbu-exporter
binary="$repo/target/release/nbu-exporter"
timing "release build"

step "building the packages"
rm -rf "$out"
deb1=$(bash packaging/build-deb.sh --binary "$binary" --revision 1)
deb2=$(bash packaging/build-deb.sh --binary "$binary" --revision 2)
rpm1=$(bash packaging/build-rpm.sh --binary "$binary" --release 1)
ls -l "$deb1" "$deb2" "$rpm1"
printf 'binary: %s bytes as built, %s stripped\n' "$(stat -c %s "$binary")" \
    "$(dpkg-deb --fsys-tarfile "$deb1" | tar -tvf - ./usr/bin/nbu-exporter | awk '{print $3}')"
timing "package builds"

step ".deb: control and files"
dpkg-deb --info "$deb1"
dpkg-deb --contents "$deb1"
step "lintian"
lintian --fail-on error,warning --info --pedantic "$deb1"
echo "lintian: no errors or warnings (overrides: packaging/debian/lintian-overrides)"
timing lintian

step ".rpm: files, config files, scriptlets, requirements"
# Pipelines read their input whole (files, not grep -q): under pipefail a reader that
# stops early makes the writer die of SIGPIPE and the check fail for nothing.
rpm -qlpv "$rpm1"
rpm -qlp "$rpm1" > "$work/rpm-files"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' "$rpm1" \
    | grep ' /etc/' | tee "$work/rpm-etc"
grep -qx 'cn -rw-r----- root:nbu-exporter /etc/nbu-exporter/config.yaml' "$work/rpm-etc" \
    || fail "rpm: config.yaml is not %config(noreplace) 0640 root:nbu-exporter"
rpm -qp --scripts "$rpm1" | tee "$work/rpm-scripts"
grep -q 'systemd-sysusers --replace=/usr/lib/sysusers.d/nbu-exporter.conf' "$work/rpm-scripts" \
    || fail "rpm: %pre does not create the user"
grep -q 'systemctl --no-reload preset nbu-exporter.service' "$work/rpm-scripts" \
    || fail "rpm: %post does not apply the preset"
rpm -qpR "$rpm1" | grep -E '^(libc|libgcc_s|/usr/bin/systemd-sysusers|systemd)' | sort -u | tr '\n' ' '
echo
grep -qx /usr/lib/systemd/system-preset/80-nbu-exporter.preset "$work/rpm-files" \
    || fail "rpm: no preset file"
timing "rpm checks"

# A later package whose shipped config.yaml changed (a new key documented, say): dpkg must
# keep the administrator's edit and put the new file beside it.
step "a 0.1.0-3 whose shipped config changed (repacked from 0.1.0-2)"
dpkg-deb --raw-extract "$deb2" "$work/deb3"
printf '# a comment the next release added\n' >> "$work/deb3/etc/nbu-exporter/config.yaml"
sed -i 's/^Version: .*/Version: 0.1.0-3/' "$work/deb3/DEBIAN/control"
(cd "$work/deb3" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
    | xargs -0 md5sum > DEBIAN/md5sums)
deb3="$work/nbu-exporter_0.1.0-3.deb"
dpkg-deb --root-owner-group -Zgzip --build "$work/deb3" "$deb3" >/dev/null

config=/etc/nbu-exporter/config.yaml
wants=/etc/systemd/system/multi-user.target.wants
expect_config_access() {
    [ "$(stat -c '%U:%G %a' /etc/nbu-exporter)" = "root:nbu-exporter 750" ] \
        || fail "/etc/nbu-exporter is $(stat -c '%U:%G %a' /etc/nbu-exporter)"
    [ "$(stat -c '%U:%G %a' "$config")" = "root:nbu-exporter 640" ] \
        || fail "$config is $(stat -c '%U:%G %a' "$config")"
}
expect_edit() {
    grep -q '^  collectionInterval: "7m"$' "$config" || fail "the edit to $config is gone ($1)"
    echo "the edit survived: $1"
}

step "dpkg -i 0.1.0-1"
dpkg -i "$deb1" </dev/null
getent passwd nbu-exporter || fail "no nbu-exporter user"
expect_config_access
[ -L "$wants/nbu-exporter.service" ] || fail "nbu-exporter.service is not enabled"
[ ! -e "$wants/nbu-exporter-notify-reload.service" ] || fail "the notify-reload unit is enabled too"
! pgrep -u nbu-exporter >/dev/null || fail "something runs as nbu-exporter after install"
echo "enabled, not started: $(readlink "$wants/nbu-exporter.service")"
grep -n '^\(User\|Group\|ExecStartPre\|ExecStart\|ExecReload\)=' /usr/lib/systemd/system/nbu-exporter.service
# What ExecStartPre= runs, as the service user: the example config is valid once the
# site's host and key exist, and the user can read it.
install -m 0640 -o root -g nbu-exporter /dev/null /etc/nbu-exporter/london.key
echo "not-a-real-key" > /etc/nbu-exporter/london.key
runuser -u nbu-exporter -- env NBU_PARIS_HOST=nbu-paris.example.com NBU_PARIS_API_KEY=not-a-real-key \
    NBU_LONDON_HOST=nbu-london.example.com /usr/bin/nbu-exporter check-config "$config"
rm -f /etc/nbu-exporter/london.key

step "systemd-analyze verify of the installed units"
bash .ci/verify-units.sh /usr/lib/systemd/system/nbu-exporter.service \
    /usr/lib/systemd/system/nbu-exporter-notify-reload.service

step "the installed man page and completions"
MANWIDTH=80 man -l /usr/share/man/man1/nbu-exporter.1.gz > "$work/man.txt" 2> "$work/man.err"
[ ! -s "$work/man.err" ] || { cat "$work/man.err"; fail "man -l printed warnings"; }
grep -q 'nbu-exporter-reload(1)' "$work/man.txt" || fail "the man page does not list reload"
sed -n '1,12p' "$work/man.txt"
zcat /usr/share/man/man1/nbu-exporter.1.gz | groff -man -Tutf8 -ww -z 2>&1 | tee "$work/groff.err"
[ ! -s "$work/groff.err" ] || fail "groff warns about the man page"
bash -n /usr/share/bash-completion/completions/nbu-exporter
offered=$(bash --norc -c '
    source /usr/share/bash-completion/completions/nbu-exporter
    function=$(complete -p nbu-exporter | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
    COMP_WORDS=(nbu-exporter re); COMP_CWORD=1; COMP_LINE="nbu-exporter re"; COMP_POINT=15
    "$function" nbu-exporter re nbu-exporter
    echo "${COMPREPLY[*]}"')
[ "$offered" = reload ] || fail "nbu-exporter re<TAB> offers '$offered', not 'reload'"
echo "nbu-exporter re<TAB> offers: $offered"
timing "install checks"

step "edit the config, upgrade to 0.1.0-2 (same shipped config)"
sed -i 's/^  collectionInterval: "5m"$/  collectionInterval: "7m"/' "$config"
expect_edit "after the edit"
dpkg -i "$deb2" </dev/null
expect_edit "upgrade to 0.1.0-2"
expect_config_access

step "disable the unit, upgrade to 0.1.0-3 (shipped config changed) with --force-confold"
systemctl disable nbu-exporter.service  # works offline, as an administrator would
dpkg -i --force-confdef --force-confold "$deb3" </dev/null
expect_edit "upgrade to 0.1.0-3"
expect_config_access
grep -q '^# a comment the next release added$' "$config.dpkg-dist" \
    || fail "the new shipped config is not in $config.dpkg-dist"
echo "the new shipped config is in $config.dpkg-dist"
[ ! -e "$wants/nbu-exporter.service" ] || fail "the upgrade re-enabled a disabled unit"
echo "a disabled unit stays disabled across the upgrade"
rm "$config.dpkg-dist"
systemctl enable nbu-exporter.service

step "dpkg -r"
dpkg -r nbu-exporter </dev/null
[ ! -e /usr/bin/nbu-exporter ] || fail "the binary is still there after remove"
[ ! -e /usr/lib/systemd/system/nbu-exporter.service ] || fail "the unit is still there after remove"
expect_edit "remove"

step "dpkg -i 0.1.0-3 again after remove, then purge"
dpkg -i --force-confdef --force-confold "$deb3" </dev/null
expect_edit "reinstall after remove"
[ -L "$wants/nbu-exporter.service" ] || fail "the reinstall did not re-enable the unit"
dpkg -P nbu-exporter </dev/null
[ ! -e /etc/nbu-exporter ] || fail "/etc/nbu-exporter is still there after purge"
[ ! -e "$wants/nbu-exporter.service" ] || fail "the enablement is still there after purge"
[[ "$(dpkg-statoverride --list)" != *nbu-exporter* ]] || fail "stat overrides left after purge"
echo "purge removed the config, the enablement and the stat overrides"
timing "dpkg lifecycle"

printf 'packaging step: %ds in all\n' $((SECONDS - started))
