#!/usr/bin/env bash
# fuzz_smoke.sh [--configure-only] [SECONDS_PER_TARGET] [TARGET...]: the CI fuzzing smoke run. Configures build-fuzz/
# with clang-14 and -DMODELGATE_FUZZ=ON (libFuzzer + ASan + UBSan), builds every fuzzer, runs each
# single-process for SECONDS_PER_TARGET (default 20; up to one fuzzer per CPU at a time) on a scratch
# copy of its seed corpus with its dictionary, and prints executions and coverage per target. Fails on any crash, leak, timeout
# (-timeout=10) or out-of-memory (-rss_limit_mb=2048); the reproducers are kept in
# build-fuzz/fuzz-artifacts/ (add them to the target's corpus as regression inputs once fixed).
# Needs Debian's clang-14 and libclang-rt-14-dev (installed here with apt when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${MODELGATE_FUZZ_BUILD:-$ROOT/build-fuzz}"
CONFIGURE_ONLY=0
if [ "${1:-}" = "--configure-only" ]; then
  CONFIGURE_ONLY=1
  shift
fi
SECONDS_PER_TARGET="${1:-20}"
shift || true
ONLY=("$@")

if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -lt 1 ]; then
  echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
fi

"$ROOT/scripts/setup.sh"
missing=()
for p in clang-14 libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz_smoke: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

JOBS="${MODELGATE_FUZZ_JOBS:-$(nproc)}"
CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMODELGATE_FUZZ=ON -DMODELGATE_BUILD_BENCH=OFF -DMODELGATE_WERROR=ON >/dev/null
if [ "$CONFIGURE_ONLY" -eq 1 ]; then
  exit 0  # scripts/sanitize.sh builds and tests this directory itself
fi
cmake --build "$BUILD" -j "$JOBS" --target fuzzers

WORK="$(mktemp -d "${TMPDIR:-/tmp}/modelgate-fuzz-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ARTIFACTS="$BUILD/fuzz-artifacts"
mkdir -p "$ARTIFACTS"

# Sanitizer findings must stop the run with a stack; leaks are findings too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:symbolize=1}"

# fuzz_one TARGET BINARY CORPUS DICT MAX_LEN: one single-process libFuzzer run of SECONDS_PER_TARGET
# on a scratch copy of its corpus; leaves its table row in $WORK/TARGET/row and, when it failed,
# the marker $WORK/TARGET/failed (its report went to stderr).
fuzz_one() {
  local target="$1" binary="$2" corpus="$3" dict="$4" max_len="$5"
  local scratch="$WORK/$target"
  mkdir -p "$scratch/corpus" "$scratch/artifacts"
  local seeds="$BUILD/fuzz-seeds/${corpus#"$ROOT/tests/"}"
  if [ -d "$seeds" ]; then
    cp -R "$seeds/." "$scratch/corpus/"
  fi
  if [ -d "$corpus" ]; then
    cp -R "$corpus/." "$scratch/corpus/"
  fi
  local args=(-max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048
              -print_final_stats=1 -artifact_prefix="$scratch/artifacts/")
  if [ "$dict" != "-" ]; then
    args+=(-dict="$dict")
  fi
  local log="$scratch/log.txt" rc=0
  echo "fuzz_smoke: $target (${SECONDS_PER_TARGET}s)" >&2
  (cd "$scratch" && "$binary" "${args[@]}" "$scratch/corpus") >"$log" 2>&1 || rc=$?
  local execs speed last cov ft corp kind
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  last="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  corp="$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")"
  local found=() f
  for f in "$scratch/artifacts"/*; do
    [ -e "$f" ] || continue
    cp "$f" "$ARTIFACTS/$target-$(basename "$f")"
    found+=("$ARTIFACTS/$target-$(basename "$f")")
  done
  local result="ok"
  if [ "$rc" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
    result="FAIL"
    : >"$scratch/failed"
    kind="$(grep -oE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer): [a-z-]+|property violated|runtime error' "$log" | head -1 || true)"
    cp "$log" "$ARTIFACTS/$target.log"
    {
      echo "fuzz_smoke: $target failed (exit $rc${kind:+, $kind}); log $ARTIFACTS/$target.log"
      for f in ${found[@]+"${found[@]}"}; do
        echo "  reproducer: $f"
      done
      grep -E '^\s+#[0-9]+ 0x|property violated|runtime error|SUMMARY' "$log" | head -25 || true
    } >&2
  fi
  printf '%-22s %12s %9s %7s %7s %7s  %s' "$target" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$result" >"$scratch/row"
}

# Seeds come from ../shared/vectors, made fresh (shared/ is never copied into the project).
python3 "$ROOT/tests/fuzz/seed_corpora.py" --out "$BUILD/fuzz-seeds" --shared "$ROOT/../shared"
# Each fuzzer runs single-process for its full SECONDS_PER_TARGET as before, but up to one per CPU
# at a time (MODELGATE_FUZZ_PARALLEL, default nproc): run one after another, the smoke run left
# every core but one idle for 14 x 5 s. On a dedicated machine each still has a core of its own,
# so its executions and coverage in those seconds are what a lone run gets.
PARALLEL="${MODELGATE_FUZZ_PARALLEL:-$(nproc)}"
targets=()
while IFS=$'\t' read -r target binary corpus dict max_len; do
  case "$target" in \#*|"") continue ;; esac
  if [ ${#ONLY[@]} -gt 0 ] && ! printf '%s\n' "${ONLY[@]}" | grep -qx "$target"; then
    continue
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$PARALLEL" ]; do
    wait -n || true  # a failed run is counted from its marker below
  done
  fuzz_one "$target" "$binary" "$corpus" "$dict" "$max_len" &
  targets+=("$target")
done <"$BUILD/fuzz_targets.tsv"
wait

rows=()
failed=0
for target in ${targets[@]+"${targets[@]}"}; do
  rows+=("$(cat "$WORK/$target/row" 2>/dev/null || echo "$target: no result")")
  if [ -e "$WORK/$target/failed" ] || [ ! -s "$WORK/$target/row" ]; then
    failed=1
  fi
done

echo
printf '%-22s %12s %9s %7s %7s %7s  %s\n' target executions exec/s cov ft corpus result
for r in "${rows[@]}"; do
  echo "$r"
done
if [ ${#rows[@]} -eq 0 ]; then
  echo "fuzz_smoke: no fuzz target matched" >&2
  exit 2
fi
exit "$failed"
