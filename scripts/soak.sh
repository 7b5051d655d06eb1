#!/usr/bin/env bash
# soak.sh [SECONDS] [MODELGATE]: a soak of `modelgate serve` over TLS keep-alive with wrk: a mix of
# verdict-cache hits (two stable models) and misses (a third model whose weights flip between
# signed and tampered every 2 s, and a fourth whose 16 MiB shard is rewritten with the same bytes
# every 5 s, so it is re-hashed). Reports req/s, latency percentiles, errors (any non-200 answer
# or socket error fails the run: both must be zero) and the server's RSS at start, end and peak.
# Default 600 s (issue 7 asks for 10 minutes). Talks only to 127.0.0.1. Not part of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-600}"
MG="${2:-build/admission/modelgate}"
[ -x "$MG" ] || { echo "soak: $MG: not an executable (build it first)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "soak: needs wrk (apt-get install wrk)" >&2; exit 2; }
WORK="$(mktemp -d)"
CHURN_PID=""
SERVE_PID=""
cleanup() {
  [ -n "$CHURN_PID" ] && kill "$CHURN_PID" 2>/dev/null || true
  if [ -n "$SERVE_PID" ]; then
    kill -TERM "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/pvc" "$WORK/policies"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/team.key" 2>/dev/null
openssl ec -in "$WORK/team.key" -pubout -out "$WORK/team.pub" 2>/dev/null
for m in stable-a stable-b flipping rewritten; do
  mkdir -p "$WORK/pvc/$m"
  echo "{\"name\": \"$m\"}" >"$WORK/pvc/$m/config.json"
  head -c $((16 << 20)) /dev/urandom >"$WORK/pvc/$m/model.safetensors"
  "$MG" sign key "$WORK/pvc/$m" --private-key "$WORK/team.key" >/dev/null 2>&1
done
cat >"$WORK/policies/p.yaml" <<EOF
apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: soak}
spec:
  match: {namespaces: [ml-serving]}
  sources: [{name: s, pvc: {claimName: models, volumeName: models-ro-pv}, root: $WORK/pvc}]
  trust: {signers: [{name: team, publicKey: $WORK/team.pub}]}
  require: {signature: {signers: [team]}}
EOF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.crt" \
  -subj /CN=localhost -days 1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
cat >"$WORK/config.yaml" <<EOF
apiVersion: modelgate.dev/v1alpha1
kind: ServerConfig
listen: {address: 127.0.0.1, port: 0}
tls: {certFile: $WORK/tls.crt, keyFile: $WORK/tls.key}
policies: [$WORK/policies]
deadline: 8s
# The soak's models are rewritten every few seconds on purpose; a 1 s settle interval keeps the
# stable ones cached as before (the default 60 s would re-hash them for the first minute).
cache: {settleInterval: 1s}
log: {level: warn}
clusterState: {files: [$WORK/cluster-state.yaml]}
EOF
# shellcheck source=serve_lib.sh
source scripts/serve_lib.sh
write_cluster_state "$WORK/cluster-state.yaml" ml-serving
start_serve "$MG" "$WORK/config.yaml" "$WORK/serve.log"
URL="https://127.0.0.1:$PORT"
rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SERVE_PID/status"; }

i=0
for m in stable-a stable-b flipping rewritten; do
  i=$((i + 1))
  jq -nc --arg m "$m" --arg uid "soak-$i" '{kind: "AdmissionReview", apiVersion: "admission.k8s.io/v1",
    request: {uid: $uid, kind: {group: "", version: "v1", kind: "Pod"}, namespace: "ml-serving",
      operation: "CREATE", name: ("p-" + $m), userInfo: {username: "soak"},
      object: {apiVersion: "v1", kind: "Pod", metadata: {name: ("p-" + $m), namespace: "ml-serving"},
        spec: {volumes: [{name: "w", persistentVolumeClaim: {claimName: "models", readOnly: true}}],
          containers: [{name: "c", image: "x", volumeMounts: [{name: "w", mountPath: "/m", subPath: $m}]}]}}}}' \
    >"$WORK/review-$i.json"
done
cat >"$WORK/soak.lua" <<EOF
local bodies = {}
for i = 1, 4 do local f = io.open("$WORK/review-" .. i .. ".json", "rb"); bodies[i] = f:read("*a"); f:close() end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) n = 0; bad = 0 end
function request()
  n = n + 1
  return wrk.format("POST", "/validate", {["Content-Type"] = "application/json"}, bodies[(n % 4) + 1])
end
function response(status, headers, body) if status ~= 200 then bad = bad + 1 end end
function done(s, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  local e = s.errors
  io.write(string.format("RESULT rps=%.0f p50=%.3f p99=%.3f p999=%.3f max=%.3f requests=%d non200=%d sockerr=%d\n",
    s.requests / (s.duration / 1e6), latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    latency:percentile(99.9) / 1e3, latency.max / 1e3, s.requests, b, e.connect + e.read + e.write + e.timeout + e.status))
end
EOF

# The churn: misses that hash (rewritten) and misses that change the verdict (flipping).
(
  t=0
  while true; do
    sleep 1
    t=$((t + 1))
    if [ $((t % 2)) -eq 0 ]; then
      printf "\\x$(printf %02x $((t / 2 % 2)))" | dd of="$WORK/pvc/flipping/config.json" bs=1 seek=2 conv=notrunc status=none
    fi
    if [ $((t % 5)) -eq 0 ]; then
      cp "$WORK/pvc/rewritten/model.safetensors" "$WORK/pvc/rewritten/model.tmp"
      mv "$WORK/pvc/rewritten/model.tmp" "$WORK/pvc/rewritten/model.safetensors"
    fi
  done
) &
CHURN_PID=$!

RSS_START="$(rss VmRSS)"
echo "soak: ${SECS}s of wrk -t2 -c16 against $URL/validate (load average $(cut -d' ' -f1-3 /proc/loadavg))"
OUT="$(wrk -t2 -c16 -d"${SECS}s" --latency -s "$WORK/soak.lua" "$URL/validate" 2>&1)"
RSS_END="$(rss VmRSS)"
RSS_PEAK="$(rss VmHWM)"
R="$(grep '^RESULT ' <<<"$OUT" || true)"
[ -n "$R" ] || { echo "$OUT" >&2; echo "soak: wrk gave no result" >&2; exit 1; }
eval "${R#RESULT }"
METRICS="$(curl -sS --cacert "$WORK/tls.crt" "$URL/metrics")"
hits="$(awk '/^modelgate_cache_requests_total\{cache="verdict",result="hit"\}/ {print $2}' <<<"$METRICS")"
misses="$(awk '/^modelgate_cache_requests_total\{cache="verdict",result="miss"\}/ {print $2}' <<<"$METRICS")"
hashed="$(awk '/^modelgate_hashed_bytes_total / {print $2}' <<<"$METRICS")"
printf '%-28s %s\n' "requests" "$requests" "req/s" "$rps" "latency p50 / p99 / p99.9 / max (ms)" "$p50 / $p99 / $p999 / $max" \
  "non-200 answers" "$non200" "socket errors" "$sockerr" "verdict cache hit / miss" "$hits / $misses" \
  "bytes hashed" "$hashed" "RSS start / end / peak (KiB)" "$RSS_START / $RSS_END / $RSS_PEAK"
if [ "$non200" != "0" ] || [ "$sockerr" != "0" ]; then
  echo "soak: FAILED: errors are not zero" >&2
  exit 1
fi
echo "soak: ok"
