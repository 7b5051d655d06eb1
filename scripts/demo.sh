#!/usr/bin/env bash
# demo.sh: set up, build and run the main job on an embedded default: a small demo model is
# created and its manifest digest printed, exactly as `model_signing digest` would.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" "$ROOT/build"
MG="$ROOT/build/admission/modelgate"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
MODEL="$WORK/demo-model"
mkdir -p "$MODEL/tokenizer"
printf '{"architectures":["DemoForCausalLM"],"hidden_size":64}\n' >"$MODEL/config.json"
printf '{"model_max_length":128}\n' >"$MODEL/tokenizer/tokenizer_config.json"
head -c $((64 << 20)) /dev/urandom >"$MODEL/model-00001-of-00002.safetensors"
head -c $((48 << 20)) /dev/urandom >"$MODEL/model-00002-of-00002.safetensors"

echo "== modelgate digest $MODEL"
"$MG" digest "$MODEL"
echo "== the same model, sharded (100 MB shards), as a manifest"
"$MG" digest "$MODEL" --shard-size 100000000 --json | head -c 1200; echo
echo "== tamper one byte of a shard: the root digest changes"
printf 'X' | dd of="$MODEL/model-00002-of-00002.safetensors" bs=1 seek=12345 conv=notrunc status=none
"$MG" digest "$MODEL"
