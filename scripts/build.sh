#!/usr/bin/env bash
# build.sh [BUILD_DIR] [--target T]... [extra cmake args...]: configure (once) and build with Ninja:
# every target, or only the --target ones (scripts/demo.sh builds just the modelgate binary).
# Warnings are errors here (-DMODELGATE_WERROR=ON), as in CI, which builds through this script; a
# plain `cmake` build (a packager's, with another compiler's warnings) leaves them warnings.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
shift || true
targets=()
cmake_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target)
      [ $# -ge 2 ] || { echo "build.sh: --target needs a target name" >&2; exit 2; }
      targets+=(--target "$2")
      shift 2
      ;;
    *)
      cmake_args+=("$1")
      shift
      ;;
  esac
done
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELGATE_WERROR=ON \
  ${cmake_args[@]+"${cmake_args[@]}"} >/dev/null
cmake --build "$BUILD" -j "$(nproc)" ${targets[@]+"${targets[@]}"}
