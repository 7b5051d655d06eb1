#!/usr/bin/env bash
# build_targets_test.sh: what each script builds, without compiling anything. scripts/demo.sh builds
# only what it runs (the modelgate binary), scripts/test.sh (what CI runs) builds every target, and
# both turn warnings into errors; a packager's plain `cmake -DCMAKE_BUILD_TYPE=Release` does not.
# cmake is replaced on PATH by a stub that records its arguments and stops the script at the
# build step; dpkg-query by one that says every package is installed (setup.sh installs nothing).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
REAL_CMAKE="$(command -v cmake)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/bin"
cat >"$WORK/bin/cmake" <<'STUB'
#!/usr/bin/env bash
printf '%s\n' "$*" >>"$CMAKE_LOG"
if [ "${1:-}" = "--build" ]; then
  exit 42  # stop the calling script here: nothing is compiled
fi
exit 0
STUB
cat >"$WORK/bin/dpkg-query" <<'STUB'
#!/usr/bin/env bash
echo "install ok installed"
STUB
chmod +x "$WORK/bin/cmake" "$WORK/bin/dpkg-query"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run_until_build SCRIPT: runs SCRIPT with the stubs; prints the cmake calls it made.
run_until_build() {
  export CMAKE_LOG="$WORK/$(basename "$1").log"
  : >"$CMAKE_LOG"
  local rc=0
  PATH="$WORK/bin:$PATH" bash "$ROOT/scripts/$1" >/dev/null 2>&1 || rc=$?
  [ "$rc" -eq 42 ] || fail "$1 did not reach the build step (exit $rc); cmake calls: $(cat "$CMAKE_LOG")"
  cat "$CMAKE_LOG"
}

demo="$(run_until_build demo.sh)"
grep -q -- '-DMODELGATE_WERROR=ON' <<<"$demo" || fail "demo.sh configures without -DMODELGATE_WERROR=ON: $demo"
build_line="$(grep -- '^--build' <<<"$demo")"
grep -qE -- '--target modelgate( |$)' <<<"$build_line" || fail "demo.sh builds more than modelgate: $build_line"
[ "$(grep -o -- '--target' <<<"$build_line" | wc -l)" -eq 1 ] || fail "demo.sh builds several targets: $build_line"
echo "ok: demo.sh builds only the modelgate target ($build_line)"

# test.sh keeps its compiler cache under MODELGATE_CI_CACHE: a scratch one here.
# (and nothing fetched in the background: MODELGATE_CI_PREPARE=0).
tests="$(MODELGATE_CI_CACHE="$WORK/ci-cache" MODELGATE_CI_PREPARE=0 run_until_build test.sh)"
grep -q -- '-DMODELGATE_WERROR=ON' <<<"$tests" || fail "test.sh configures without -DMODELGATE_WERROR=ON: $tests"
build_line="$(grep -- '^--build' <<<"$tests")"
! grep -q -- '--target' <<<"$build_line" || fail "test.sh does not build every target: $build_line"
echo "ok: test.sh builds every target ($build_line)"
# The image build gets its objects back from this cache (scripts/image_test.sh, Dockerfile).
grep -q -- '-DCMAKE_CXX_COMPILER_LAUNCHER=ccache' <<<"$tests" \
  || fail "test.sh does not build through ccache, so the image build compiles everything again: $tests"
[ -d "$WORK/ci-cache/ccache" ] || fail "test.sh does not keep its compiler cache under MODELGATE_CI_CACHE"
echo "ok: test.sh builds through the compiler cache it shares with the image build"

# A packager's configure: warnings stay warnings (a new compiler's false positive cannot fail it).
"$REAL_CMAKE" -S "$ROOT" -B "$WORK/plain" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMODELGATE_BUILD_TESTS=OFF \
  -DMODELGATE_BUILD_BENCH=OFF >/dev/null
grep -q '^MODELGATE_WERROR:BOOL=OFF$' "$WORK/plain/CMakeCache.txt" || fail "MODELGATE_WERROR is not OFF by default"
! grep -q -- '-Werror' "$WORK/plain/compile_commands.json" || fail "a plain build compiles with -Werror"
echo "ok: a plain Release configure compiles without -Werror"
