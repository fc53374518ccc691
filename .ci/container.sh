#!/usr/bin/env bash
# Builds the container image from the Containerfile with buildah, checks what is in it,
# runs `nbu-exporter demo` in it with podman and a published port, scrapes it, stops it,
# and renders deploy/kubernetes with kubectl kustomize. Installs what it needs with apt-get.
#
# What works as root on these machines: Debian's buildah with --storage-driver vfs on every
# call (the environment variable is ignored) and --isolation chroot; podman with
# --runtime runc (the default crun fails here) and explicit --ulimit values. Both use a
# storage root of their own under target/ci/, so the machine's podman store is not touched
# (and a store created with another driver cannot make them fail).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$SECONDS

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { printf -- '--- %s\n' "$*"; }

missing=()
for tool in buildah:buildah podman:podman runc:runc curl:curl; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
# podman publishes ports through the CNI plugins on Debian 12.
[ -x /usr/lib/cni/bridge ] || [ -x /usr/lib/cni/portmap ] || missing+=(containernetworking-plugins)
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

store="$repo/target/ci/containers"
storage=(--root "$store/root" --runroot "$store/run" --storage-driver vfs)
run_limits=(--runtime runc --ulimit nofile=1024:20000 --ulimit nproc=4096:4096)
context="$repo/target/image"
name=nbu-exporter-ci-$$
cleanup() {
    podman "${storage[@]}" rm -f "$name" "$name-mounted" >/dev/null 2>&1 || true
    podman "${storage[@]}" rmi -a -f >/dev/null 2>&1 || true
    rm -rf "$store"
}
trap cleanup EXIT

step "build context (packaging/container-context.sh)"
cargo build --release --locked --quiet --bin nbu-exporter
bash packaging/container-context.sh --binary target/release/nbu-exporter "$context"
version=$(cat "$context/version")
image="localhost/nbu-exporter:$version"
# The loader and libraries ldd found are all the binary needs: run it in that tree alone.
chroot "$context/rootfs" /usr/bin/nbu-exporter --version

step "buildah build"
buildah --version
echo "+ buildah --storage-driver vfs build --isolation chroot -f Containerfile --build-arg VERSION=$version -t $image target/image"
buildah "${storage[@]}" build --isolation chroot --quiet -f Containerfile \
    --build-arg VERSION="$version" -t "$image" "$context"
podman "${storage[@]}" images "$image"
size=$(podman "${storage[@]}" image inspect --format '{{.Size}}' "$image")
echo "image size: $size bytes"
[ "$size" -lt 20000000 ] || fail "the image is $size bytes; expected about 8 MB"
config=$(buildah "${storage[@]}" inspect --type image \
    --format '{{.OCIv1.Config.User}}|{{.OCIv1.Config.Entrypoint}}|{{.OCIv1.Config.Cmd}}|{{.Docker.Config.Healthcheck}}' "$image")
echo "user|entrypoint|cmd|healthcheck: $config"
[ "$config" = "65532:65532|[/usr/bin/nbu-exporter]|[--config /etc/nbu-exporter/config.yaml]|<nil>" ] \
    || fail "unexpected image config"

step "the image's files"
container=$(buildah "${storage[@]}" from --quiet "$image")
mnt=$(buildah "${storage[@]}" mount "$container")
(cd "$mnt" && find . -mindepth 1 -printf '%M %u:%g %s %p\n' | LC_ALL=C sort -k4)
[ ! -e "$mnt/bin/sh" ] && [ ! -e "$mnt/usr/bin/sh" ] || fail "the image has a shell"
[ -z "$(find "$mnt" -name '*.crt' -o -name '*.pem' -o -name 'ca-certificates*')" ] || fail "a CA bundle is in the image"
[ "$(stat -c %a "$mnt/tmp")" = 1777 ] || fail "/tmp is not 1777"
[ -d "$mnt/etc/nbu-exporter" ] || fail "no /etc/nbu-exporter directory"
buildah "${storage[@]}" umount "$container" >/dev/null
buildah "${storage[@]}" rm "$container" >/dev/null

step "podman run: nbu-exporter demo --host 0.0.0.0, port 2112 published"
podman --version
echo "+ podman --storage-driver vfs --runtime runc run -d --ulimit nofile=1024:20000 --ulimit nproc=4096:4096 -p 127.0.0.1::2112 $image demo --host 0.0.0.0 --port 2112"
podman "${storage[@]}" run "${run_limits[@]}" -d --name "$name" -p 127.0.0.1::2112 \
    "$image" demo --host 0.0.0.0 --port 2112 >/dev/null
address=$(podman "${storage[@]}" port "$name" 2112/tcp)
echo "published at $address"
pid=$(podman "${storage[@]}" inspect --format '{{.State.Pid}}' "$name")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
echo "the exporter runs as uid $uid"
[ "$uid" = 65532 ] || fail "the exporter runs as uid $uid"

# Ready once both simulated sites have had their first sweep; bounded wait.
deadline=$((SECONDS + 60))
until curl -fsS "http://$address/-/ready" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { podman "${storage[@]}" logs "$name"; fail "not ready within 60 s"; }
    sleep 0.5
done
curl -fsS "http://$address/metrics" > "$repo/target/image/scrape.txt"
echo "scrape: $(wc -l < "$repo/target/image/scrape.txt") lines, $(wc -c < "$repo/target/image/scrape.txt") bytes; excerpt:"
grep -E '^(nbu_up|nbu_exporter_build_info|nbu_exporter_config_generation|nbu_jobs_state_count\{site="london")' \
    "$repo/target/image/scrape.txt"
grep -qx 'nbu_up{site="paris"} 1' "$repo/target/image/scrape.txt" || fail "paris is not up"
grep -qx 'nbu_up{site="london"} 1' "$repo/target/image/scrape.txt" || fail "london is not up"
curl -fsS "http://$address/-/healthy"; echo

if shell=$(podman "${storage[@]}" run "${run_limits[@]}" --rm --entrypoint /bin/sh "$image" -c true 2>&1); then
    fail "/bin/sh ran in the image"
fi
[[ "$shell" == *"/bin/sh"*"no such file or directory"* ]] || fail "/bin/sh failed for another reason: $shell"
echo "no shell: $shell"

podman "${storage[@]}" stop -t 15 "$name" >/dev/null
code=$(podman "${storage[@]}" inspect --format '{{.State.ExitCode}}' "$name")
podman "${storage[@]}" logs "$name" 2>&1 | tail -n 3
[ "$code" = 0 ] || fail "the exporter exited $code on SIGTERM"
echo "stopped by SIGTERM, exit code 0"

step "podman run --read-only with a config directory mounted at /etc/nbu-exporter"
# The image's own command (--config /etc/nbu-exporter/config.yaml), a root filesystem as
# read-only as Kubernetes' readOnlyRootFilesystem, and a site that does not answer: the
# exporter serves, reports nbu_up 0, and reloads when the mounted file changes.
confdir="$context/etc-nbu-exporter"
rm -rf "$confdir" && install -d -m 0755 "$confdir"
cat > "$confdir/config.yaml" <<'YAML'
server:
  port: 2112
  collectionInterval: 1m
nbuservers:
  - {site: lab, scheme: http, host: 127.0.0.1, port: 9, apiKey: not-a-real-key, timeout: 1s}
YAML
chmod 0644 "$confdir/config.yaml"
echo "+ podman ... run --read-only -v $confdir:/etc/nbu-exporter:ro -p 127.0.0.1::2112 $image"
podman "${storage[@]}" run "${run_limits[@]}" -d --name "$name-mounted" --read-only -p 127.0.0.1::2112 \
    -v "$confdir:/etc/nbu-exporter:ro" "$image" >/dev/null
address=$(podman "${storage[@]}" port "$name-mounted" 2112/tcp)
metric() { curl -fsS "http://$address/metrics" 2>/dev/null | sed -n "s/^$1 //p"; }
deadline=$((SECONDS + 30))
until [ "$(metric 'nbu_up{site="lab"}')" = 0 ] && [ "$(metric nbu_exporter_config_generation)" = 1 ]; do
    [ $SECONDS -lt $deadline ] || { podman "${storage[@]}" logs "$name-mounted"; fail "no nbu_up 0 within 30 s"; }
    sleep 0.5
done
echo "serving generation 1 from the mounted config; nbu_up{site=\"lab\"} $(metric 'nbu_up{site="lab"}')"
sed -i 's/collectionInterval: 1m/collectionInterval: 2m/' "$confdir/config.yaml"
deadline=$((SECONDS + 45))
until [ "$(metric nbu_exporter_config_generation)" = 2 ]; do
    [ $SECONDS -lt $deadline ] || { podman "${storage[@]}" logs "$name-mounted"; fail "the edit was not reloaded within 45 s"; }
    sleep 0.5
done
podman "${storage[@]}" logs "$name-mounted" 2>&1 | grep -F 'config reload applied' || true
echo "the edit to the mounted config was reloaded: generation $(metric nbu_exporter_config_generation)"
podman "${storage[@]}" rm -f "$name-mounted" >/dev/null

step "kubectl kustomize deploy/kubernetes"
if ! command -v kubectl >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    # Debian 12 packages kubectl as kubernetes-client (1.20, with kustomize built in).
    apt-get update -qq >/dev/null
    if [ -n "$(apt-cache policy kubernetes-client 2>/dev/null | sed -n 's/^ *Candidate: \([^(].*\)$/\1/p')" ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
    fi
fi
if command -v kubectl >/dev/null 2>&1; then
    kubectl kustomize deploy/kubernetes > "$context/kubernetes.yaml"
    grep -n 'image:' "$context/kubernetes.yaml"
    grep -q "image: registry.example.com/nbu-exporter:$version\$" "$context/kubernetes.yaml" \
        || fail "the rendered Deployment does not run nbu-exporter:$version (deploy/kubernetes/kustomization.yaml images:)"
    grep -q 'runAsUser: 65532$' "$context/kubernetes.yaml" || fail "the Deployment's runAsUser is not the image's 65532"
    echo "rendered $(grep -c '^kind:' "$context/kubernetes.yaml") objects"
else
    echo "SKIP: kubectl is not installed and no Debian package provides it here"
fi

printf 'container step: %ds in all\n' $((SECONDS - started))
