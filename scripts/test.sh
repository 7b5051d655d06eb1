#!/usr/bin/env bash
# test.sh: set up, build and run every test (this is what .ci/run calls): the CTest suites (unit,
# CLI, integration over real TLS, fuzz-corpus replays), the example policies' own tests, the Helm
# chart with real helm and Kubernetes schemas, the container image built and run with podman, and
# the sanitizer runs (the whole suite under ASan + UBSan, a 5 s fuzzing smoke run per target, the
# server and orchestration suites under TSan: scripts/sanitize.sh). Each stage prints its time, and
# the last line is the table of them (CI's budget is 25 minutes on 2 cores: see docs/performance.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# The compiler cache shared by the plain build below and the image build (scripts/image_test.sh
# mounts it into `podman build`): the image compiles the same committed sources with the same gcc 12
# and flags, so without this CI compiled the libraries and the CLI twice (once here, once in the
# container, about a fifth of the whole run). ccache only reuses an object whose source, headers,
# flags and compiler (by content, compiler_check) hash the same; base_dir makes the paths relative
# (the container builds in /src/build, this in $ROOT/build) and hash_dir=false keeps the working
# directory out of the hash (it only reaches the debug info, which the image strips). The system
# headers must be the same too: on a fresh machine the host and the image install the same Debian
# packages from the same mirror minutes apart; where the host's -dev packages are older than the
# mirror's (a long-lived machine), those objects differ and the image compiles them (correctly,
# just slower). depend mode
# takes the headers from the compiler's own -MD output instead of running the preprocessor a
# second time, so a cold cache (CI's) costs next to nothing. Only the plain build uses it: the
# sanitizer builds use other compilers and flags that nothing else reuses.
export MODELGATE_CI_CACHE="${MODELGATE_CI_CACHE:-/var/cache/modelgate-ci}"
export CCACHE_DIR="$MODELGATE_CI_CACHE/ccache" CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1 \
       CCACHE_COMPILERCHECK=content CCACHE_DEPEND=1
mkdir -p "$CCACHE_DIR"

stages=()
t_all=$SECONDS
stage() {  # stage NAME COMMAND...: run one stage, print and record its wall time
  local t=$SECONDS
  echo "== $1"
  "${@:2}"
  stages+=("$(printf '%5d s  %s' $((SECONDS - t)) "$1")")
  echo "== $1: $((SECONDS - t)) s"
}
plain_ctest() { (cd "$ROOT/build" && ctest --output-on-failure -j "$(nproc)" --timeout 600); }

stage "setup (Debian packages)" "$ROOT/scripts/setup.sh"

# What the later stages download (clang for the sanitizers, podman and debootstrap, the base images
# and the image's Debian packages, helm and the chart checker's npm packages) is fetched in the
# background while the plain build and its tests keep both cores busy: on a fresh machine these are
# minutes of waiting on the network. Nothing is tested there; the stages below use it as a cache
# (each would fetch what is missing itself) and start only once it is done (no two apt runs at once).
prepare() {
  MODELGATE_FUZZ_BUILD="$ROOT/build-asan" "$ROOT/scripts/fuzz_smoke.sh" --configure-only
  "$ROOT/scripts/image_test.sh" --prepare
}
# (MODELGATE_CI_PREPARE=0 skips it: tests/scripts/build_targets_test.sh runs this script with stubs.)
if [ "${MODELGATE_CI_PREPARE:-1}" = 1 ]; then
  prepare >"$MODELGATE_CI_CACHE/prepare.log" 2>&1 &
else
  true &
fi
prepare_pid=$!
t_prepare=$SECONDS

# ccache also hashes the locale (it changes the compiler's messages): the same one as the image's.
stage "build (gcc, every target)" env -u LC_ALL -u LC_CTYPE -u LC_MESSAGES LANG=C.UTF-8 \
  "$ROOT/scripts/build.sh" "$ROOT/build" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache
stage "ctest (plain, whole suite)" plain_ctest
stage "modelgate policy test examples/policy-tests" \
  "$ROOT/build/admission/modelgate" policy test "$ROOT/examples/policy-tests"

waited=$SECONDS
if ! wait "$prepare_pid"; then
  cat "$MODELGATE_CI_CACHE/prepare.log" >&2
  echo "test.sh: preparing the later stages failed (log above)" >&2
  exit 1
fi
stages+=("$(printf '%5d s  %s' $((SECONDS - waited)) "waiting for the background downloads ($((SECONDS - t_prepare)) s in the background)")")
stage "packaging: helm chart" "$ROOT/scripts/package_test.sh"
stage "packaging: container image (podman)" "$ROOT/scripts/image_test.sh"
stage "sanitizers: ASan + UBSan (whole suite, fuzz smoke), TSan (admission, integration)" \
  "$ROOT/scripts/sanitize.sh" all 5

echo "== stage times"
printf '%s\n' "${stages[@]}"
printf '%5d s  total\n' $((SECONDS - t_all))
ccache --show-stats 2>/dev/null | grep -E '^(Cacheable|  (Hits|Misses))' || true
