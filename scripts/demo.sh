#!/usr/bin/env bash
# demo.sh: set up, build and run the main job on an embedded default. It creates a small demo
# model, signs it, verifies it, then tampers with it in the ways that matter (a flipped byte, an
# extra file, a wrong key) and shows that each is refused with a reason that names the file. Then
# (scripts/demo_webhook.sh) it publishes four models with provenance and approvals, starts
# `modelgate serve` on localhost with self-signed TLS and a demo policy, and sends it
# AdmissionReviews for an approved, a tampered, an unsigned and an unreviewed model, then one
# side door of each kind a pod author tries (a respelled path, a parent mount, an unclaimed volume,
# an overlay, a missing label, break-glass by the wrong user), printing each answer as kubectl
# shows it. Everything is local and offline; the work directory is removed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/setup.sh"
# Only what the demo runs: the test suites and fuzzers are scripts/test.sh's to build.
"$ROOT/scripts/build.sh" "$ROOT/build" --target modelgate
MG="$ROOT/build/admission/modelgate"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
MODEL="$WORK/demo-model"
mkdir -p "$MODEL/tokenizer"
printf '{"architectures":["DemoForCausalLM"],"hidden_size":64}\n' >"$MODEL/config.json"
printf '{"model_max_length":128}\n' >"$MODEL/tokenizer/tokenizer_config.json"
head -c $((64 << 20)) /dev/urandom >"$MODEL/model-00001-of-00002.safetensors"
head -c $((48 << 20)) /dev/urandom >"$MODEL/model-00002-of-00002.safetensors"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
expect_fail() {
  if "$@"; then
    echo "demo: expected a failure, got success" >&2
    exit 1
  fi
}

step "a publisher's signing key (P-256) and a stranger's"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/publisher.key" 2>/dev/null
openssl ec -in "$WORK/publisher.key" -pubout -out "$WORK/publisher.pub" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/stranger.key" 2>/dev/null
openssl ec -in "$WORK/stranger.key" -pubout -out "$WORK/stranger.pub" 2>/dev/null
echo "keys in $WORK"

step "modelgate digest (root digest, as model_signing digest prints it)"
"$MG" digest "$MODEL"

step "modelgate sign key: write model.sig inside the model (a Sigstore bundle, model_signing v1.0)"
"$MG" sign key "$MODEL" --private-key "$WORK/publisher.key" --signature "$MODEL/model.sig"

step "modelgate verify key: the untouched model verifies"
"$MG" verify key "$MODEL" --signature "$MODEL/model.sig" --public-key "$WORK/publisher.pub"

step "verify with a stranger's key: refused"
expect_fail "$MG" verify key "$MODEL" --signature "$MODEL/model.sig" --public-key "$WORK/stranger.pub"

step "flip one byte of a shard: refused, naming the file and both digests"
cp "$MODEL/model-00002-of-00002.safetensors" "$WORK/shard.bak"
printf 'X' | dd of="$MODEL/model-00002-of-00002.safetensors" bs=1 seek=12345 conv=notrunc status=none
expect_fail "$MG" verify key "$MODEL" --signature "$MODEL/model.sig" --public-key "$WORK/publisher.pub"
cp "$WORK/shard.bak" "$MODEL/model-00002-of-00002.safetensors"

step "add an unsigned file: refused"
echo "import os; os.system('curl evil')" >"$MODEL/tokenizer/loader.py"
expect_fail "$MG" verify key "$MODEL" --signature "$MODEL/model.sig" --public-key "$WORK/publisher.pub"
rm "$MODEL/tokenizer/loader.py"

step "back to the signed bytes: verifies again"
"$MG" verify key "$MODEL" --signature "$MODEL/model.sig" --public-key "$WORK/publisher.pub"

step "sharded signature (16 MB shards) for parallel hashing of big files"
"$MG" sign key "$MODEL" --private-key "$WORK/publisher.key" --signature "$MODEL/model.sig" --shard-size 16000000
"$MG" verify key "$MODEL" --signature "$MODEL/model.sig" --public-key "$WORK/publisher.pub"

UPSTREAM="$ROOT/../shared/vectors/model_signing/scripts/tests/v1.1.0-sigstore"
if [ -d "$UPSTREAM" ]; then
  step "keyless: a model signed upstream with Sigstore, verified offline against the embedded root"
  "$MG" verify sigstore "$UPSTREAM" --signature "$UPSTREAM/model.sig" \
    --identity stefanb@us.ibm.com --identity-provider https://sigstore.verify.ibm.com/oauth2
  step "the same model claimed by another identity: refused"
  expect_fail "$MG" verify sigstore "$UPSTREAM" --signature "$UPSTREAM/model.sig" \
    --identity mallory@example.com --identity-provider https://sigstore.verify.ibm.com/oauth2
fi

"$ROOT/scripts/demo_webhook.sh" "$MG" "$WORK"

step "done: signed and approved models run; tampered, unsigned and unreviewed ones, and every side door, are refused at kubectl apply"
