#!/usr/bin/env bash
# generate.sh: rebuild the fixtures of examples/policy-tests/ — small models on the "models" PVC
# (fixtures/models/<case>), their model.sig, the evidence store (fixtures/evidence), and the
# public keys the example policies name under /etc/modelgate (fixtures/etc). Fresh keys are made
# on every run and their private halves are thrown away, so nothing secret is committed.
# Usage: examples/policy-tests/generate.sh [path/to/modelgate]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MG="${1:-$ROOT/build/admission/modelgate}"
F="$HERE/fixtures"
rm -rf "$F"
mkdir -p "$F/models" "$F/evidence" "$F/etc/keys/ml-leads" "$F/etc/trust"
KEYS="$(mktemp -d)"
trap 'rm -rf "$KEYS"' EXIT

key() {  # key NAME: a P-256 key pair in $KEYS
  openssl ecparam -name prime256v1 -genkey -noout -out "$KEYS/$1.key" 2>/dev/null
  openssl ec -in "$KEYS/$1.key" -pubout -out "$KEYS/$1.pub" 2>/dev/null
}
for k in platform trainer eval-harness alice bob mallory; do key "$k"; done
cp "$KEYS/platform.pub" "$KEYS/trainer.pub" "$KEYS/eval-harness.pub" "$F/etc/keys/"
cp "$KEYS/platform.pub" "$F/etc/keys/team.pub"   # minimal-key-only's team key
cp "$KEYS/alice.pub" "$KEYS/bob.pub" "$F/etc/keys/ml-leads/"
cp "$ROOT/crypto/data/trusted_root_public_good.json" "$F/etc/trust/trusted_root.json"
# The example catalog plus one restricted dataset, to show the classification rule refusing it.
cp "$ROOT/examples/datasets.yaml" "$F/etc/datasets.yaml"
cat >>"$F/etc/datasets.yaml" <<'YAML'
- name: customer-pii-2024
  versionId: 2024.01.0
  created: 2024-01-10
  format: parquet
  location: s3://acme-datasets/pii/2024.01.0/
  classification: restricted
  owner: privacy@acme.com
  sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
  license: LicenseRef-acme-internal
YAML
TICKETS=sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393
OWT=sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
PII=sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
BUILDER=https://ml-builder.acme.internal/trainer@v2
BUILD_TYPE=https://ml-builder.acme.internal/buildtypes/finetune/v1
AT=2026-11-20T12:00:00Z   # the test file's clock is 2026-12-01: 11 days old, maxAge 90d

model() {  # model NAME N: a tiny "checkpoint" with a config, a tokenizer and two shards
  local d="$F/models/$1"
  mkdir -p "$d/tokenizer"
  printf '{"architectures":["DemoForCausalLM"],"name":"%s"}\n' "$1" >"$d/config.json"
  printf '{"model_max_length":128}\n' >"$d/tokenizer/tokenizer_config.json"
  for i in 1 2; do
    head -c 40000 /dev/urandom >"$d/model-0000$i-of-00002.safetensors"
  done
}
sign() { "$MG" sign key "$F/models/$1" --private-key "$KEYS/platform.key" >/dev/null 2>&1; }
prov() {  # prov NAME KEY BUILDER DATASET...
  local m="$1" k="$2" b="$3"
  shift 3
  local args=()
  for d in "$@"; do args+=(--dataset "$d"); done
  "$MG" attest provenance "$F/models/$m" --private-key "$KEYS/$k.key" --builder-id "$b" \
    --build-type "$BUILD_TYPE" --finished-on "$AT" "${args[@]}" --store "$F/evidence" >/dev/null
}
approve() { "$MG" attest approval "$F/models/$1" --private-key "$KEYS/$2.key" --reviewer "$2@acme.com" \
  --timestamp "$AT" --store "$F/evidence" >/dev/null; }
evaluate() { "$MG" attest test-result "$F/models/$1" --private-key "$KEYS/eval-harness.key" \
  --suite safety-suite-v3 --result "$2" --store "$F/evidence" >/dev/null; }
full() {  # full NAME: everything production-serving asks for
  sign "$1"
  prov "$1" trainer "$BUILDER" "support-tickets-2024=$TICKETS" "openwebtext-subset=$OWT"
  approve "$1" alice
  approve "$1" bob
  evaluate "$1" PASSED
}

model approved 1 && full approved
model tampered 2 && full tampered
printf 'X' | dd of="$F/models/tampered/model-00002-of-00002.safetensors" bs=1 seek=1234 conv=notrunc status=none
model unsigned 3
model one-approval 4 && sign one-approval
prov one-approval trainer "$BUILDER" "support-tickets-2024=$TICKETS"
approve one-approval alice
approve one-approval mallory   # mallory is no ML lead: her approval does not count
evaluate one-approval PASSED
model wrong-builder 5 && sign wrong-builder
prov wrong-builder trainer "https://laptop.example/jupyter" "support-tickets-2024=$TICKETS"
approve wrong-builder alice && approve wrong-builder bob && evaluate wrong-builder PASSED
model restricted-data 6 && sign restricted-data
prov restricted-data trainer "$BUILDER" "support-tickets-2024=$TICKETS" "customer-pii-2024=$PII"
approve restricted-data alice && approve restricted-data bob && evaluate restricted-data PASSED
model failed-eval 7 && sign failed-eval
prov failed-eval trainer "$BUILDER" "support-tickets-2024=$TICKETS"
approve failed-eval alice && approve failed-eval bob && evaluate failed-eval FAILED

# --- Rules without surprises (issue #20) -----------------------------------------------------
root() { "$MG" digest "$F/models/$1" | cut -c8-; }
# A FAILED result next to a PASSED one: bare-key bundles carry no trusted time, so nothing shows
# the PASSED to be newer and the FAILED denies (written with --output, as another tool would).
model stale-failure 8 && full stale-failure
"$MG" attest test-result "$F/models/stale-failure" --private-key "$KEYS/eval-harness.key" --suite safety-suite-v3 \
  --result FAILED --failed-test jailbreak-17 --output "$F/evidence/sha256/$(root stale-failure)/test-result-rerun.json" >/dev/null
# A build that "finished" in the future (the test clock is 2026-12-01).
model future-build 9 && sign future-build
"$MG" attest provenance "$F/models/future-build" --private-key "$KEYS/trainer.key" --builder-id "$BUILDER" \
  --build-type "$BUILD_TYPE" --finished-on 2027-06-01T00:00:00Z --dataset "support-tickets-2024=$TICKETS" \
  --store "$F/evidence" >/dev/null
approve future-build alice && approve future-build bob && evaluate future-build PASSED
# Base models live only in the evidence store: signed with sign --store, attested by --digest.
base() {  # base NAME: a base model's signature in the store; prints its root digest
  local d="$KEYS/base-$1"
  mkdir -p "$d" && head -c 30000 /dev/urandom >"$d/model.safetensors"
  "$MG" sign key "$d" --private-key "$KEYS/platform.key" --store "$F/evidence" >/dev/null
  "$MG" digest "$d" | cut -c8-
}
dprov() {  # dprov HEX BASE-HEX: the base model's provenance, naming its own base model
  "$MG" attest provenance --digest "sha256:$1" --private-key "$KEYS/trainer.key" --builder-id "$BUILDER" \
    --build-type "$BUILD_TYPE" --finished-on "$AT" --dataset "support-tickets-2024=$TICKETS" \
    ${2:+--base-model "parent=sha256:$2"} --store "$F/evidence" >/dev/null
}
dapprove() { "$MG" attest approval --digest "sha256:$1" --private-key "$KEYS/$2.key" --reviewer "$2@acme.com" \
  --timestamp "$AT" --store "$F/evidence" >/dev/null; }
devaluate() { "$MG" attest test-result --digest "sha256:$1" --private-key "$KEYS/eval-harness.key" \
  --suite safety-suite-v3 --result PASSED --store "$F/evidence" >/dev/null; }
# A two-model cycle: cycle-ft's base names cycle-ft as its own base.
model cycle-ft 10 && sign cycle-ft
B="$(base cycle)"
"$MG" attest provenance "$F/models/cycle-ft" --private-key "$KEYS/trainer.key" --builder-id "$BUILDER" \
  --build-type "$BUILD_TYPE" --finished-on "$AT" --dataset "support-tickets-2024=$TICKETS" \
  --base-model "llama-base=sha256:$B" --store "$F/evidence" >/dev/null
approve cycle-ft alice && approve cycle-ft bob && evaluate cycle-ft PASSED
dprov "$B" "$(root cycle-ft)" && dapprove "$B" alice && dapprove "$B" bob && devaluate "$B"
# A base model with one approval: the fine-tune fails with the base model's own reason.
model nested-ft 11 && sign nested-ft
C="$(base nested)"
"$MG" attest provenance "$F/models/nested-ft" --private-key "$KEYS/trainer.key" --builder-id "$BUILDER" \
  --build-type "$BUILD_TYPE" --finished-on "$AT" --dataset "support-tickets-2024=$TICKETS" \
  --base-model "llama-base=sha256:$C" --store "$F/evidence" >/dev/null
approve nested-ft alice && approve nested-ft bob && evaluate nested-ft PASSED
dprov "$C" "" && dapprove "$C" alice && devaluate "$C"
echo "fixtures regenerated under $F"
