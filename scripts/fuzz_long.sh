#!/usr/bin/env bash
# fuzz_long.sh TARGET HOURS: a long fuzzing run of one target (e.g. `bundle_fuzz 8`). Builds it in
# build-fuzz/ like fuzz_smoke.sh, then fuzzes for HOURS (fractions allowed) on a corpus that
# persists between runs (build-fuzz/fuzz-corpus/TARGET, seeded from the target's committed
# corpus), so each run continues where the last stopped. Crash, leak, timeout and OOM reproducers
# land in build-fuzz/fuzz-artifacts/; the run keeps going after one (-fork mode) when
# MODELGATE_FUZZ_FORK=N is set, else it stops at the first. Not for CI: use fuzz_smoke.sh there.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${MODELGATE_FUZZ_BUILD:-$ROOT/build-fuzz}"
if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  echo "usage: $0 TARGET HOURS    (TARGET as listed by: cut -f1 $BUILD/fuzz_targets.tsv)" >&2
  exit 2
fi
TARGET="$1"
SECONDS_TOTAL="$(awk -v h="$2" 'BEGIN { s = int(h * 3600); print (s < 1 ? 1 : s) }')"

# Build (and install clang if needed) exactly as the smoke run does, for this one target.
"$ROOT/scripts/fuzz_smoke.sh" 1 "$TARGET" >/dev/null

line="$(awk -F'\t' -v t="$TARGET" '$1 == t' "$BUILD/fuzz_targets.tsv")"
if [ -z "$line" ]; then
  echo "fuzz_long: no fuzz target $TARGET" >&2
  exit 2
fi
IFS=$'\t' read -r _ binary corpus dict max_len <<<"$line"

CORPUS="$BUILD/fuzz-corpus/$TARGET"
ARTIFACTS="$BUILD/fuzz-artifacts"
mkdir -p "$CORPUS" "$ARTIFACTS"
cp -Rn "$corpus/." "$CORPUS/" 2>/dev/null || true

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:symbolize=1}"
args=(-max_total_time="$SECONDS_TOTAL" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$ARTIFACTS/$TARGET-")
if [ "$dict" != "-" ]; then
  args+=(-dict="$dict")
fi
if [ -n "${MODELGATE_FUZZ_FORK:-}" ]; then
  args+=(-fork="$MODELGATE_FUZZ_FORK" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
echo "fuzz_long: $TARGET for ${SECONDS_TOTAL}s, corpus $CORPUS ($(find "$CORPUS" -type f | wc -l) inputs)" >&2
LOG="$BUILD/fuzz-long-$TARGET.log"
set +e
"$binary" "${args[@]}" "$CORPUS" 2>&1 | tee "$LOG" | grep -E --line-buffered '^#[0-9]+.*(REDUCE|pulse|DONE)|ERROR|SUMMARY|property violated'
rc=${PIPESTATUS[0]}
set -e
grep -E '^stat::|^#[0-9]+.*DONE' "$LOG" | tail -8
echo "fuzz_long: exit $rc; corpus now $(find "$CORPUS" -type f | wc -l) inputs; artifacts in $ARTIFACTS" >&2
exit "$rc"
