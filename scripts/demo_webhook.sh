#!/usr/bin/env bash
# demo_webhook.sh MODELGATE WORKDIR: the webhook half of the demo (scripts/demo.sh runs it).
# A PVC "models" holds four models; a policy wants each signed by the publisher, built by the
# approved trainer and approved by two ML leads. `modelgate serve` runs on 127.0.0.1 with
# self-signed TLS and gets Pod AdmissionReviews shaped like the apiserver's
# (../shared/vectors/admission/). Each answer is printed as kubectl would show it.
set -euo pipefail
MG="$1"
WORK="$2"
PVC="$WORK/pvc-models"
STORE="$WORK/evidence"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
key() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/keys/$1.key" 2>/dev/null
  openssl ec -in "$WORK/keys/$1.key" -pubout -out "$WORK/keys/$1.pub" 2>/dev/null
}

mkdir -p "$PVC" "$STORE" "$WORK/keys/ml-leads" "$WORK/policies"
for k in publisher trainer alice bob; do key "$k"; done
cp "$WORK/keys/alice.pub" "$WORK/keys/bob.pub" "$WORK/keys/ml-leads/"
for m in llama-approved llama-tampered llama-unsigned llama-unreviewed; do
  mkdir -p "$PVC/$m"
  printf '{"architectures":["DemoForCausalLM"],"name":"%s"}\n' "$m" >"$PVC/$m/config.json"
  head -c $((16 << 20)) /dev/urandom >"$PVC/$m/model-00001-of-00001.safetensors"
done

step "publish: sign each model, attest its provenance (trainer) and approvals (ML leads)"
publish() {  # publish MODEL APPROVER...
  local m="$PVC/$1"
  shift
  "$MG" sign key "$m" --private-key "$WORK/keys/publisher.key" 2>/dev/null | sed 's/^/  /'
  "$MG" attest provenance "$m" --private-key "$WORK/keys/trainer.key" --store "$STORE" \
    --builder-id https://ml-builder.acme.internal/trainer@v2 --build-type https://acme.internal/finetune/v1 >/dev/null
  for r in "$@"; do
    "$MG" attest approval "$m" --private-key "$WORK/keys/$r.key" --reviewer "$r@acme.com" --store "$STORE" >/dev/null
  done
}
publish llama-approved alice bob
publish llama-tampered alice bob
publish llama-unreviewed alice
echo "llama-unsigned: left unsigned"
echo "evidence store:"
(cd "$WORK" && find evidence -name '*.json' | sort | sed 's/^/  /')
step "after publishing, one byte of llama-tampered's weights changes on the volume"
printf 'X' | dd of="$PVC/llama-tampered/model-00001-of-00001.safetensors" bs=1 seek=4242 conv=notrunc status=none

{
  echo "apiVersion: modelgate.dev/v1alpha1"
  echo "kind: ModelPolicy"
  echo "metadata: {name: production-serving}"
  echo "spec:"
  echo "  mode: enforce"
  echo "  match: {namespaces: [\"^ml-serving\$\"]}"
  echo "  sources:"
  echo "  - {name: shared-models, pvc: {claimName: \"^models\$\", volumeName: \"^models-ro-pv\$\"}, root: $PVC}"
  echo "  - {name: node-cache, hostPath: {pathPrefix: /var/lib/model-cache}, root: $PVC}"
  echo "  trust:"
  echo "    signers:"
  echo "    - {name: publisher, publicKey: $WORK/keys/publisher.pub}"
  echo "    - {name: trainer, publicKey: $WORK/keys/trainer.pub}"
  echo "    reviewers:"
  echo "    - {name: ml-leads, publicKeys: $WORK/keys/ml-leads/}"
  echo "  require:"
  echo "    signature: {signers: [publisher]}"
  echo "    provenance: {signers: [trainer], builders: [\"^https://ml-builder\\\\.acme\\\\.internal/trainer@v2\$\"]}"
  echo "    reviews: {minApprovals: 2, from: [ml-leads]}"
  echo "  breakGlass: {allowed: true, allowedGroups: [ml-oncall], maxDuration: 24h}"
} >"$WORK/policies/production.yaml"
step "the policy (modelgate policy lint)"
sed 's/^/  /' "$WORK/policies/production.yaml"
"$MG" policy lint "$WORK/policies"
step "the same policy scoped by a pod label instead: lint warns (the pod's author sets labels)"
mkdir -p "$WORK/label-scoped"
sed 's/  match: {namespaces: \[\(.*\)\]}/  match: {namespaces: [\1], labels: {app: llm}}/' "$WORK/policies/production.yaml" \
  >"$WORK/label-scoped/production.yaml"
"$MG" policy lint "$WORK/label-scoped" 2>&1 | sed "s|$WORK/||" | cut -c1-160

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tls.key" \
  -out "$WORK/tls.crt" -subj /CN=localhost -days 1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null
{
  echo "apiVersion: modelgate.dev/v1alpha1"
  echo "kind: ServerConfig"
  echo "listen: {address: 127.0.0.1, port: 0}"
  echo "tls: {certFile: $WORK/tls.crt, keyFile: $WORK/tls.key}"
  echo "policies: [$WORK/policies]"
  echo "evidence: {stores: [$STORE]}"
  echo "deadline: 8s"
  echo "clusterState: {files: [$WORK/cluster-state.yaml]}  # frozen: claim models -> models-ro-pv"
  # The demo's models were written seconds ago: with the default settle interval (60 s) nothing
  # this young is cached, so the repeated request below would hash again (1 s is the least allowed).
  echo "cache: {settleInterval: 1s}"
} >"$WORK/config.yaml"

step "modelgate serve --config config.yaml (TLS on 127.0.0.1, a free port)"
# shellcheck source=serve_lib.sh
source "$(dirname "$0")/serve_lib.sh"
write_cluster_state "$WORK/cluster-state.yaml" ml-serving
start_serve "$MG" "$WORK/config.yaml" "$WORK/serve.log"
trap stop_serve EXIT
URL="https://127.0.0.1:$PORT"
echo "listening on $URL; /readyz says: $(curl -sS --cacert "$WORK/tls.crt" "$URL/readyz")"

# admit NAME MODEL EXPECT [JQ]: what `kubectl run NAME` (a Pod mounting subPath MODEL of PVC "models")
# would get back. EXPECT is true (admitted) or false (refused); JQ changes the request first (a
# door an attacker tries: another volume, a mount, an annotation, another user).
admit() {
  local uid
  uid="$(cat /proc/sys/kernel/random/uuid)"
  jq -n --arg uid "$uid" --arg name "$1" --arg model "$2" '{
    kind: "AdmissionReview", apiVersion: "admission.k8s.io/v1",
    request: {uid: $uid, kind: {group: "", version: "v1", kind: "Pod"},
      resource: {group: "", version: "v1", resource: "pods"},
      name: $name, namespace: "ml-serving", operation: "CREATE",
      userInfo: {username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"]},
      object: {kind: "Pod", apiVersion: "v1",
        metadata: {name: $name, namespace: "ml-serving", labels: {app: "llm"}},
        spec: {volumes: [{name: "weights", persistentVolumeClaim: {claimName: "models", readOnly: true}}],
          containers: [{name: "server", image: "registry.example.com/vllm:0.6", args: ["--model", "/models/llama"],
            volumeMounts: [{name: "weights", readOnly: true, mountPath: "/models/llama", subPath: $model}]}]}},
      oldObject: null, dryRun: false}}' | jq "${4:-.}" >"$WORK/review.json"
  step "kubectl apply: pod $1 mounting models/$2"
  curl -sS --cacert "$WORK/tls.crt" -H 'Content-Type: application/json' --data-binary @"$WORK/review.json" \
    "$URL/validate" >"$WORK/response.json"
  if [ "$(jq -r .response.uid "$WORK/response.json")" != "$uid" ]; then
    echo "demo: the response does not echo the request uid" >&2
    exit 1
  fi
  local allowed
  allowed="$(jq -r .response.allowed "$WORK/response.json")"
  jq -r '.response.warnings[]? | "Warning: " + .' "$WORK/response.json"
  if [ "$allowed" = "true" ]; then
    echo "pod/$1 created"
  else
    printf 'Error from server (Forbidden): error when creating "%s.yaml": admission webhook "verify.modelgate.dev" denied the request: %s\n' \
      "$1" "$(jq -r .response.status.message "$WORK/response.json")"
  fi
  echo "  (auditAnnotations: $(jq -c '.response.auditAnnotations' "$WORK/response.json"))"
  if [ "$allowed" != "$3" ]; then
    echo "demo: expected allowed=$3, got $allowed" >&2
    exit 1
  fi
}
admit llm-approved llama-approved true
admit llm-tampered llama-tampered false
admit llm-unsigned llama-unsigned false
admit llm-unreviewed llama-unreviewed false
step "the same approved pod again: answered from the verdict cache (see cache and duration_ms below)"
admit llm-approved-again llama-approved true

# Side doors a pod author tries (issue #12): one of each class, each refused.
S='.request.object.spec'
step "side door 1: the tampered model through the node cache, path respelled (/var/lib//model-cache/...)"
admit door-respelled llama-approved false \
  "$S.volumes += [{name: \"cache\", hostPath: {path: \"/var/lib//model-cache/./llama-tampered/\"}}] |
   $S.containers[0].volumeMounts += [{name: \"cache\", mountPath: \"/models/cache\", readOnly: true}]"
step "side door 1b: the whole node directory above the model store"
admit door-parent llama-approved false \
  "$S.volumes += [{name: \"host\", hostPath: {path: \"/var/lib\"}}] |
   $S.containers[0].volumeMounts += [{name: \"host\", mountPath: \"/host\", readOnly: true}]"
step "side door 2: a volume no source claims (an OCI image volume)"
admit door-unclaimed llama-approved false \
  "$S.volumes += [{name: \"oci\", image: {reference: \"registry.example.com/llama@sha256:$(printf '0%.0s' {1..64})\"}}] |
   $S.containers[0].volumeMounts += [{name: \"oci\", mountPath: \"/models/oci\", readOnly: true}]"
step "side door 3: an emptyDir file mounted over a verified shard"
admit door-overlay llama-approved false \
  "$S.volumes += [{name: \"swap\", emptyDir: {}}] |
   $S.containers[0].volumeMounts += [{name: \"swap\", mountPath: \"/models/llama/model-00001-of-00001.safetensors\", subPath: \"x\"}]"
step "side door 4: a pod without the app label is judged all the same (the policy is scoped by namespace)"
admit door-unlabelled llama-tampered false "del(.request.object.metadata.labels)"
step "side door 5: break-glass by a cluster admin who is not on call"
GLASS='.request.object.metadata.annotations = {"modelgate.dev/break-glass": "INC-4711 rollback", "modelgate.dev/break-glass-expires": "'"$(date -u -d '+4 hours' +%Y-%m-%dT%H:%M:%SZ)"'"}'
admit door-glass llama-tampered false "$GLASS"
step "the same override by the on-call group: admitted, warned and audited"
admit glass-oncall llama-tampered true "$GLASS | .request.userInfo = {username: \"oncall@acme.com\", groups: [\"ml-oncall\", \"system:authenticated\"]}"

step "what the webhook logged for each decision (one JSON line per admission)"
grep '"event":"admission_decision"' "$WORK/serve.log" | sed 's/^/  /'
step "a few of its metrics (GET /metrics)"
curl -sS --cacert "$WORK/tls.crt" "$URL/metrics" |
  grep -E '^modelgate_(admission_requests_total|hashed_bytes_total|cache_requests_total|verification_failures_total)' |
  sed 's/^/  /'
stop_serve
trap - EXIT
step "SIGTERM: modelgate serve drained and exited"
