#!/usr/bin/env bash
# image_test.sh: build the container image with podman (no daemon, --isolation chroot) from the
# committed sources, run it the way the chart runs it (read-only root, non-root, no capabilities,
# the chart's own rendered config, policies in a kubelet-style ConfigMap directory, the model store
# mounted read-only) on the host network with certificates made for the run, and send it
# AdmissionReviews over verified TLS: an upstream-signed model is allowed, a tampered copy denied.
#
# No registry is reachable, so the base images are made here: debootstrap --variant=minbase
# bookworm, imported as debian:bookworm and debian:bookworm-slim. The rootfs tarballs, podman's
# storage (layer cache) and the compiler cache live under /var/cache/modelgate-ci/ between runs.
# podman reads a config of this test's own (CONTAINERS_CONF: runc, cgroupfs, ulimits within this
# machine's hard limits); no system file is edited.
#
# --prepare: only the slow, download-bound part (the tools, the base images, the image's toolchain
# stage with its Debian packages), then exit: scripts/test.sh runs it in the background while the
# host compiles. A later full run finds all of it cached.
#
# Env: MODELGATE_IMAGE_CONTEXT=worktree builds the working tree instead of `git archive HEAD`;
#      MODELGATE_IMAGE_SKIP_BUILD=1 tests the image already built (while working on this script);
#      MODELGATE_CI_CACHE (default /var/cache/modelgate-ci). Must run as root. Prints
#      "N passed, N failed" last.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PKG="$ROOT/tests/packaging"
SHARED="${MODELGATE_SHARED_DIR:-$ROOT/../shared}"
CACHE="${MODELGATE_CI_CACHE:-/var/cache/modelgate-ci}"
IMAGE=localhost/modelgate:test
SUITE=bookworm
t0=$SECONDS
PREPARE=0
if [ "${1:-}" = "--prepare" ]; then
  PREPARE=1
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "image_test: error: must run as root (podman --isolation chroot, debootstrap)" >&2
  exit 2
fi
missing=()
for tool in podman:podman buildah:buildah runc:runc debootstrap:debootstrap openssl:openssl curl:curl jq:jq; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "image_test: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# shellcheck source=../tests/packaging/tools.sh
source "$PKG/tools.sh"
ensure_helm

WORK="$(mktemp -d /tmp/modelgate-image-test.XXXXXX)"
CONTAINER="modelgate-image-test-$$"
cleanup() {
  podman rm -f -t 5 "$CONTAINER" >/dev/null 2>&1 || true
  podman rm -f -t 5 "$CONTAINER-defaults" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$CACHE"
chmod 0755 "$WORK"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok      $*"; }
fail() { failed=$((failed + 1)); echo "FAILED  $*"; }

# --- podman, configured by this test only ---------------------------------------------------------
nofile_hard="$(ulimit -Hn)"
[ "$nofile_hard" = unlimited ] && nofile_hard=65536
[ "$nofile_hard" -gt 65536 ] && nofile_hard=65536
cat >"$WORK/containers.conf" <<EOF
# Written by scripts/image_test.sh. The default runtime (crun) and the systemd cgroup manager fail
# on this machine's cgroups; podman's default ulimits exceed the hard limits a container may set here.
[containers]
default_ulimits = ["nofile=$nofile_hard:$nofile_hard", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$CACHE/storage"
runroot = "/run/modelgate-ci/storage"
EOF
cat >"$WORK/registries.conf" <<'EOF'
# Nothing is pulled: base images are imported locally; short names resolve to docker.io names.
unqualified-search-registries = ["docker.io"]
EOF
# TMPDIR is where buildah keeps RUN --mount=type=cache directories (the compiler cache): keep it.
mkdir -p "$CACHE/tmp"
export CONTAINERS_CONF="$WORK/containers.conf" CONTAINERS_STORAGE_CONF="$WORK/storage.conf" \
       CONTAINERS_REGISTRIES_CONF="$WORK/registries.conf" TMPDIR="$CACHE/tmp"

# --- base images: debootstrap once, import when missing -------------------------------------------
# debian_mirror: the host's Debian mirror for $SUITE (deb822 sources or the one-line format).
debian_mirror() {  # the host's first Debian $SUITE mirror, from deb822 .sources or sources.list
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk -v suite="$SUITE" '
      /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) found = uri }
      /^$/ { if (found && !done) { print found; done = 1 } }
      END { if (found && !done) print found }' "$f")"
    if [ -n "$uri" ]; then
      echo "$uri"
      return 0
    fi
  done
  # (Not every machine has a sources.list: a missing file must not fail the pipeline.)
  if [ -f /etc/apt/sources.list ]; then
    awk -v suite="$SUITE" '$1 == "deb" && $3 == suite && !done { print $2; done = 1 }' /etc/apt/sources.list
  fi
}
make_rootfs() {  # make_rootfs: $CACHE/$SUITE-minbase.tar and $CACHE/$SUITE-slim.tar
  local dir="$CACHE/rootfs.tmp" mirror
  mirror="$(debian_mirror)"
  [ -n "$mirror" ] || { echo "image_test: error: no Debian $SUITE source in /etc/apt" >&2; return 1; }
  rm -rf "$dir"
  echo "image_test: debootstrap --variant=minbase $SUITE (once; cached in $CACHE)" >&2
  debootstrap --variant=minbase "$SUITE" "$dir" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; return 1; }
  # The image's apt sources are the host's Debian sources (same mirror, updates and security).
  rm -f "$dir/etc/apt/sources.list"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$dir/etc/apt/sources.list.d/debian.sources"
  else
    grep -E "^deb .* $SUITE(-updates|-security|/updates)? " /etc/apt/sources.list >"$dir/etc/apt/sources.list"
  fi
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$dir/etc/apt/apt.conf.d/90modelgate-norecommends"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log "$dir"/tmp/*
  tar -C "$dir" --numeric-owner -cf "$CACHE/$SUITE-minbase.tar.tmp" . && mv "$CACHE/$SUITE-minbase.tar.tmp" "$CACHE/$SUITE-minbase.tar"
  # slim: what Debian's -slim images leave out (documentation, manuals, translations), for good.
  cat >"$dir/etc/dpkg/dpkg.cfg.d/90modelgate-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
  find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/lintian/*
  find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar -C "$dir" --numeric-owner -cf "$CACHE/$SUITE-slim.tar.tmp" . && mv "$CACHE/$SUITE-slim.tar.tmp" "$CACHE/$SUITE-slim.tar"
  rm -rf "$dir"
}
if [ ! -s "$CACHE/$SUITE-minbase.tar" ] || [ ! -s "$CACHE/$SUITE-slim.tar" ]; then
  make_rootfs
fi
import_base() {  # import_base TARBALL NAME: import unless the image came from this very tarball
  local tar="$1" name="$2" sum
  sum="$(sha256sum "$tar" | cut -c1-16)"
  if [ "$(podman image inspect --format '{{index .Labels "dev.modelgate.rootfs"}}' "docker.io/library/$name" 2>/dev/null)" = "$sum" ]; then
    return 0
  fi
  podman import --change "LABEL dev.modelgate.rootfs=$sum" --change 'CMD ["/bin/bash"]' "$tar" \
    "docker.io/library/$name" >"$WORK/import.log" 2>&1 || { cat "$WORK/import.log" >&2; return 1; }
  podman tag "docker.io/library/$name" "localhost/$name"
}
import_base "$CACHE/$SUITE-minbase.tar" "debian:$SUITE"
import_base "$CACHE/$SUITE-slim.tar" "debian:$SUITE-slim"
pass "base images debian:$SUITE and debian:$SUITE-slim (debootstrap minbase, $((SECONDS - t0)) s so far)"

# --- build ------------------------------------------------------------------------------------------
CONTEXT="$WORK/context"
if [ "${MODELGATE_IMAGE_CONTEXT:-}" = worktree ]; then
  CONTEXT="$ROOT"
else
  mkdir -p "$CONTEXT" && git -C "$ROOT" archive HEAD | tar -x -C "$CONTEXT"
fi
BUILD_LOG="$CACHE/image-build.log"
# The compiler cache scripts/test.sh's plain build filled (same sources, gcc and flags): mounted
# into the build so the image gets those objects back instead of compiling everything again (see
# the Dockerfile). Run alone, this script fills it itself.
CCACHE_HOST="$CACHE/ccache"
mkdir -p "$CCACHE_HOST"
build_args=(--isolation chroot --pull=never --network host --layers -f "$CONTEXT/Dockerfile"
  -v "$CCACHE_HOST:/ccache" --build-arg MODELGATE_CCACHE_DIR=/ccache
  --build-arg MODELGATE_VERSION="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$ROOT/charts/modelgate/Chart.yaml")")
if [ "$PREPARE" -eq 1 ]; then
  # The same build arguments as below, so the full build finds these layers in podman's cache.
  if podman build "${build_args[@]}" --target toolchain -t localhost/modelgate-toolchain:cache "$CONTEXT" \
       >"$CACHE/image-prepare.log" 2>&1; then
    pass "prepared: the image's toolchain stage ($((SECONDS - t0)) s in all; log $CACHE/image-prepare.log)"
  else
    fail "podman build --target toolchain (log $CACHE/image-prepare.log):"; tail -40 "$CACHE/image-prepare.log"
  fi
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
fi
tb=$SECONDS
if [ "${MODELGATE_IMAGE_SKIP_BUILD:-}" = 1 ] && podman image exists "$IMAGE"; then
  echo "image_test: MODELGATE_IMAGE_SKIP_BUILD=1: testing the existing $IMAGE" >&2
  build_s=0
# The build stage is tagged too, so pruning dangling images never drops the cached package layer.
elif podman build "${build_args[@]}" --target build -t localhost/modelgate-build:cache "$CONTEXT" >"$BUILD_LOG" 2>&1 \
   && podman build "${build_args[@]}" -t "$IMAGE" "$CONTEXT" >>"$BUILD_LOG" 2>&1; then
  build_s=$((SECONDS - tb))
  pass "podman build --isolation chroot ($build_s s; log $BUILD_LOG)"
else
  fail "podman build (log $BUILD_LOG):"; tail -40 "$BUILD_LOG"
  echo "$passed passed, $failed failed"; exit 1
fi
podman image prune -f >/dev/null 2>&1 || true

inspect() { podman image inspect --format "$1" "$IMAGE"; }
user="$(inspect '{{.Config.User}}')"
entry="$(inspect '{{json .Config.Entrypoint}}')"
size_mb=$(( $(inspect '{{.Size}}') / 1000000 ))
if [ "$user" = "65532:65532" ] && [ "$entry" = '["/usr/local/bin/modelgate","serve"]' ]; then
  pass "image runs as $user, entrypoint $entry, $size_mb MB"
else
  fail "image user $user / entrypoint $entry"
fi
packages="$(podman run --rm --network none --entrypoint /usr/bin/dpkg-query "$IMAGE" -W -f '${Package}\n' | sort)"
build_pkgs="$(grep -xE 'build-essential|cmake|(g\+\+|gcc|cpp)(-[0-9]+)?|ninja-build|git|ccache|.*-dev' <<<"$packages" | tr '\n' ' ' || true)"
if [ -z "$build_pkgs" ]; then
  pass "runtime image has no compiler or -dev package ($(wc -l <<<"$packages") packages)"
else
  fail "runtime image contains build packages: $build_pkgs"
fi

# --- test material ------------------------------------------------------------------------------------
free_port() {  # a port nobody listens on, chosen at random (other engineers share the host network)
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! ss -Htln "sport = :$p" | grep -q .; then echo "$p"; return 0; fi
  done
  return 1
}
PORT="$(free_port)"
METRICS="$(free_port)"
while [ "$METRICS" = "$PORT" ]; do METRICS="$(free_port)"; done

M="$WORK/mounts"
mkdir -p "$M/config" "$M/tls" "$M/trust" "$M/models"
gen_cert() {  # gen_cert DIR NAME: a CA and a serving certificate for localhost / 127.0.0.1
  local d="$1" n="$2"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$n CA" \
    -keyout "$d/$n-ca.key" -out "$d/$n-ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$d/$n.key" -out "$d/$n.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/$n.ext"
  openssl x509 -req -in "$d/$n.csr" -CA "$d/$n-ca.crt" -CAkey "$d/$n-ca.key" -CAcreateserial -days 2 \
    -extfile "$d/$n.ext" -out "$d/$n.crt" 2>/dev/null
}
gen_cert "$WORK" first

# The model: an upstream model_signing vector (signed by upstream's tooling with a P-384 key), and a
# copy with one byte changed. The webhook reads them where the chart mounts the store.
VEC="$SHARED/vectors/model_signing/scripts/tests"
cp -r "$VEC/v1.1.0-elliptic-key" "$M/models/llama-3-8b"
cp -r "$VEC/v1.1.0-elliptic-key" "$M/models/llama-3-8b-tampered"
printf 'X' | dd of="$M/models/llama-3-8b-tampered/signme-1" bs=1 seek=0 conv=notrunc status=none
cp "$VEC/keys/certificate/signing-key-pub.pem" "$M/trust/team.pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$WORK/other.key" 2>/dev/null
openssl pkey -in "$WORK/other.key" -pubout -out "$M/trust/other.pub"

cat >"$WORK/policy.yaml" <<'EOF'
apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata:
  name: image-test
spec:
  mode: enforce
  match:
    namespaces: ["^ml-serving$"]
  sources:
  - {name: models, pvc: {claimName: "^models$", volumeName: "^models-ro-pv$"}, root: /mnt/models}
  trust:
    signers:
    - {name: team-key, publicKey: /etc/modelgate/trust/team.pub}
  require:
    signature: {signers: [team-key]}
EOF
# Policies and TLS files laid out as the kubelet lays out a ConfigMap or Secret volume: a
# timestamped dir, a ..data symlink to it, one symlink per key; an update swaps ..data atomically.
atomic_write() {  # atomic_write DIR FILE... : publish FILEs (by base name) as DIR's new content
  local dir="$1" ts; shift
  ts="..$(date -u +%Y_%m_%d_%H_%M_%S.%N)"
  mkdir -p "$dir/$ts"
  for f in "$@"; do
    cp "$f" "$dir/$ts/$(basename "$f")"
    [ -e "$dir/$(basename "$f")" ] || ln -s "..data/$(basename "$f")" "$dir/$(basename "$f")"
  done
  chmod -R a+rX "$dir/$ts"
  ln -s "$ts" "$dir/..data_tmp" && mv -T "$dir/..data_tmp" "$dir/..data"
}
mkdir -p "$M/policies" "$WORK/p" "$WORK/p2" "$WORK/t1" "$WORK/t2"
cp "$WORK/policy.yaml" "$WORK/p/image-test.yaml"
atomic_write "$M/policies" "$WORK/p/image-test.yaml"
cp "$WORK/first.crt" "$WORK/t1/tls.crt" && cp "$WORK/first.key" "$WORK/t1/tls.key"
atomic_write "$M/tls" "$WORK/t1/tls.crt" "$WORK/t1/tls.key"

# The config is the chart's own, rendered by helm with this test's ports and model store.
"$HELM" template modelgate "$ROOT/charts/modelgate" -n modelgate \
  --set config.port="$PORT" --set config.metricsPort="$METRICS" --set config.reload.interval=500ms \
  --set clusterState.enabled=false \
  --set-json 'modelSources=[{"name":"models","root":"/mnt/models","pvc":{"claimName":"models"}}]' \
  --set-file "policies.image-test\.yaml=$WORK/policy.yaml" >"$WORK/rendered.yaml"
rendered_config "$WORK/rendered.yaml" >"$M/config/config.yaml"
# No API server here: the chart's clusterState block (rendered last) gets a frozen state instead,
# in which claim "models" is bound to "models-ro-pv".
# shellcheck source=serve_lib.sh
source "$ROOT/scripts/serve_lib.sh"
write_cluster_state "$M/config/cluster-state.yaml" ml-serving
echo "  files: [/etc/modelgate/config/cluster-state.yaml]" >>"$M/config/config.yaml"
mapfile -t COMMAND < <(rendered_command "$WORK/rendered.yaml")
chmod -R a+rX "$M"

# --- run ------------------------------------------------------------------------------------------------
# Exactly the chart's container: its command and args, UID, read-only root, no capabilities, mounts.
podman run -d --name "$CONTAINER" --network host --read-only --tmpfs /tmp:rw,size=16m \
  --cap-drop ALL --security-opt no-new-privileges --user 65532:65532 \
  -v "$M/config:/etc/modelgate/config:ro" -v "$M/tls:/etc/modelgate/tls:ro" \
  -v "$M/policies:/etc/modelgate/policies:ro" -v "$M/trust:/etc/modelgate/trust:ro" \
  -v "$M/models:/mnt/models:ro" \
  --entrypoint "${COMMAND[0]}" "$IMAGE" "${COMMAND[@]:1}" >/dev/null

CURL=(curl --silent --show-error --max-time 10 --cacert "$WORK/first-ca.crt")
ready=""
for _ in $(seq 1 100); do  # bounded wait for the listener: 100 x 0.2 s
  if [ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER" 2>/dev/null)" != true ]; then break; fi
  if "${CURL[@]}" -o /dev/null "https://localhost:$PORT/readyz" 2>/dev/null; then ready=yes; break; fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  fail "server did not become ready on https://localhost:$PORT (logs below)"
  podman logs "$CONTAINER" 2>&1 | tail -30
  echo "$passed passed, $failed failed"; exit 1
fi
pass "modelgate serve is up as uid 65532 on a read-only root, TLS verified against the run's CA"

for path in /healthz /readyz; do
  code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' "https://localhost:$PORT$path")"
  [ "$code" = 200 ] && pass "GET $path over TLS: 200" || fail "GET $path over TLS: $code"
done
metrics="$(curl --silent --show-error --max-time 10 "http://127.0.0.1:$METRICS/metrics" || true)"
if grep -q '^# TYPE ' <<<"$metrics"; then
  pass "GET /metrics on the plain-HTTP metrics port: $(grep -c '^# TYPE ' <<<"$metrics") metric families"
else
  fail "GET /metrics on port $METRICS: no Prometheus exposition"
fi

# review UID SUBPATH: the upstream pod-create vector, its uid and model subPath replaced, init
# container dropped (it mounts the whole claim, another model).
review() {
  jq --arg uid "$1" --arg sub "$2" '
    .request.uid = $uid
    | .request.object.spec.initContainers = []
    | (.request.object.spec.containers[0].volumeMounts[] | select(.name == "weights") | .subPath) = $sub' \
    "$SHARED/vectors/admission/pod-create-llm-server.json"
}
post() {  # post UID SUBPATH -> response JSON on stdout
  review "$1" "$2" | "${CURL[@]}" -H 'Content-Type: application/json' --data-binary @- \
    "https://localhost:$PORT/validate"
}
check_review() {  # check_review WHAT UID SUBPATH ALLOWED
  local out
  out="$(post "$2" "$3")" || { fail "$1: POST /validate failed"; return; }
  local uid allowed
  uid="$(jq -r '.response.uid' <<<"$out" 2>/dev/null)"
  allowed="$(jq -r '.response.allowed' <<<"$out" 2>/dev/null)"
  if [ "$uid" = "$2" ] && [ "$allowed" = "$4" ] && [ "$(jq -r '.apiVersion + " " + .kind' <<<"$out")" = "admission.k8s.io/v1 AdmissionReview" ]; then
    pass "$1: uid echoed, allowed=$allowed $(jq -c '.response.status.message // empty' <<<"$out" | cut -c1-160)"
  else
    fail "$1: expected uid $2 allowed $4, got: $(cut -c1-400 <<<"$out")"
  fi
}
check_review "signed model (upstream vector) is admitted" "image-test-allow-$$" llama-3-8b true
check_review "tampered copy is denied" "image-test-deny-$$" llama-3-8b-tampered false

# Policy reload: publish a policy that trusts another key, the way the kubelet updates a mounted
# ConfigMap (one atomic ..data swap); without a restart, the same signed model is now denied.
sed 's|/etc/modelgate/trust/team.pub|/etc/modelgate/trust/other.pub|' "$WORK/policy.yaml" >"$WORK/p2/image-test.yaml"
atomic_write "$M/policies" "$WORK/p2/image-test.yaml"
reloaded=""
for i in $(seq 1 50); do  # bounded: 50 x 0.2 s, the config's reload interval is 0.5 s
  out="$(post "image-test-reload-$$-$i" llama-3-8b || true)"
  if [ "$(jq -r '.response.allowed' <<<"$out" 2>/dev/null)" = false ]; then reloaded=yes; break; fi
  sleep 0.2
done
[ -n "$reloaded" ] && pass "policy ConfigMap update reloaded in place: the model signed by team.pub is denied once only other.pub is trusted" \
                   || fail "policy update was not picked up: $(cut -c1-300 <<<"$out")"

# TLS rotation: publish a new pair the way the kubelet updates a mounted Secret (one atomic
# ..data swap); the server must serve the new certificate without a restart.
gen_cert "$WORK" second
cp "$WORK/second.crt" "$WORK/t2/tls.crt" && cp "$WORK/second.key" "$WORK/t2/tls.key"
atomic_write "$M/tls" "$WORK/t2/tls.crt" "$WORK/t2/tls.key"
rotated=""
for _ in $(seq 1 50); do  # bounded: 50 x 0.2 s, the config's reload interval is 0.5 s
  if curl --silent --max-time 5 --cacert "$WORK/second-ca.crt" -o /dev/null "https://localhost:$PORT/healthz"; then
    rotated=yes; break
  fi
  sleep 0.2
done
[ -n "$rotated" ] && pass "TLS certificate rotated in place (served cert now chains to the new CA)" \
                  || fail "TLS certificate was not reloaded after the files changed"

podman stop -t 25 "$CONTAINER" >/dev/null
exit_code="$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")"
[ "$exit_code" = 0 ] && pass "SIGTERM: graceful exit 0" || fail "SIGTERM: exit code $exit_code"

# The chart's defaults (no policy, no model store): the server must start with exactly that config,
# and answer the `helm test` pod's AdmissionReview the way that pod's script expects.
PORT2="$(free_port)"
METRICS2="$(free_port)"
"$HELM" template modelgate "$ROOT/charts/modelgate" -n modelgate \
  --set config.port="$PORT2" --set config.metricsPort="$METRICS2" \
  --set clusterState.enabled=false >"$WORK/rendered-defaults.yaml"  # no API server to watch here
mkdir -p "$M/config-defaults"
rendered_config "$WORK/rendered-defaults.yaml" >"$M/config-defaults/config.yaml"
chmod -R a+rX "$M/config-defaults"
mapfile -t COMMAND2 < <(rendered_command "$WORK/rendered-defaults.yaml")
podman run -d --name "$CONTAINER-defaults" --network host --read-only --tmpfs /tmp:rw,size=16m \
  --cap-drop ALL --security-opt no-new-privileges --user 65532:65532 \
  -v "$M/config-defaults:/etc/modelgate/config:ro" -v "$M/tls:/etc/modelgate/tls:ro" \
  --entrypoint "${COMMAND2[0]}" "$IMAGE" "${COMMAND2[@]:1}" >/dev/null
CURL2=(curl --silent --show-error --max-time 10 --cacert "$WORK/second-ca.crt")
ready=""
for _ in $(seq 1 100); do  # bounded wait for the listener: 100 x 0.2 s
  if [ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER-defaults" 2>/dev/null)" != true ]; then break; fi
  if "${CURL2[@]}" -o /dev/null "https://localhost:$PORT2/readyz" 2>/dev/null; then ready=yes; break; fi
  sleep 0.2
done
if [ -n "$ready" ]; then
  pass "the chart's default config starts the server (no policy, no model store)"
  out="$(rendered_test_review "$WORK/rendered-defaults.yaml" | "${CURL2[@]}" --fail -H 'Content-Type: application/json' \
           --data-binary @- "https://localhost:$PORT2/validate" || true)"
  # The helm test pod's own checks (templates/tests/test-webhook.yaml).
  if echo "$out" | tr -d ' \n' | grep -q '"uid":"helm-test-modelgate-1"' && echo "$out" | tr -d ' \n' | grep -q '"allowed":true'; then
    pass "the helm test AdmissionReview is answered as that test expects (uid echoed, allowed)"
  else
    fail "helm test AdmissionReview: $(cut -c1-300 <<<"$out")"
  fi
else
  fail "the chart's default config does not start the server:"; podman logs "$CONTAINER-defaults" 2>&1 | tail -20
fi
podman rm -f -t 5 "$CONTAINER-defaults" >/dev/null 2>&1 || true

echo "image_test: $((SECONDS - t0)) s in all (build ${build_s:-?} s)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
