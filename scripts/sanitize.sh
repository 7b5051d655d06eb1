#!/usr/bin/env bash
# sanitize.sh [asan|tsan|all] [FUZZ_SECONDS]: the sanitizer runs of CI (scripts/test.sh calls it).
#   asan  one clang-14 build (build-asan/) of everything with AddressSanitizer + UndefinedBehavior-
#         Sanitizer (and libFuzzer's coverage, MODELGATE_FUZZ=ON): the whole CTest suite runs in
#         it, leaks included, then the fuzzing smoke run (scripts/fuzz_smoke.sh, FUZZ_SECONDS per
#         target, default 5) reuses the same build, so the instrumented libraries compile once.
#   tsan  a gcc build (build-tsan/) with ThreadSanitizer of the admission and integration suites
#         (server, worker pool, orchestrator, caches, webhook over real TLS), every race an error.
# Any sanitizer report fails the run with its stack. Needs clang-14 and libclang-rt-14-dev for
# asan (installed with apt when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WHAT="${1:-all}"
FUZZ_SECONDS="${2:-5}"
case "$WHAT" in asan|tsan|all) ;; *) echo "usage: $0 [asan|tsan|all] [FUZZ_SECONDS]" >&2; exit 2 ;; esac
JOBS="$(nproc)"
t=$SECONDS
took() { echo "== sanitize: $1: $((SECONDS - t)) s"; t=$SECONDS; }  # each step's wall time, for CI's budget

if [ "$WHAT" != tsan ]; then
  # fuzz_smoke.sh installs clang and configures this directory exactly like this (a no-op rerun).
  export MODELGATE_FUZZ_BUILD="$ROOT/build-asan"
  "$ROOT/scripts/fuzz_smoke.sh" --configure-only
  # -O1 -g1 (line tables): sanitizer builds compile faster and still report file:line stacks.
  cmake -S "$ROOT" -B "$MODELGATE_FUZZ_BUILD" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
  cmake --build "$MODELGATE_FUZZ_BUILD" -j "$JOBS"
  took "ASan + UBSan build"
  echo "== sanitize: whole CTest suite under ASan + UBSan (clang-14)"
  (cd "$MODELGATE_FUZZ_BUILD" &&
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --output-on-failure -j "$JOBS" --timeout 900)
  took "ASan + UBSan ctest"
  echo "== sanitize: fuzzing smoke run, ${FUZZ_SECONDS}s per target"
  "$ROOT/scripts/fuzz_smoke.sh" "$FUZZ_SECONDS"
  took "fuzzing smoke run"
fi

if [ "$WHAT" != asan ]; then
  BUILD="$ROOT/build-tsan"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELGATE_WERROR=ON \
    -DMODELGATE_SANITIZE=thread -DMODELGATE_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" >/dev/null
  cmake --build "$BUILD" -j "$JOBS" --target admission_tests integration_tests
  took "TSan build"
  echo "== sanitize: admission and integration suites under ThreadSanitizer (gcc)"
  # Debian's cpp-httplib and OpenSSL are not built with -fsanitize=thread: their atomics and
  # function-local statics are invisible to TSan, which then reports their own orderings as races
  # (and a socket closed inside httplib as an fd race). ignore_noninstrumented_modules drops what
  # interceptors see of those libraries; every access compiled from this repository stays checked.
  (cd "$BUILD" && TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$ROOT/scripts/tsan.supp" \
    ctest --output-on-failure -j "$JOBS" --timeout 900 -R '^(admission|integration):')
  took "TSan ctest"
fi
