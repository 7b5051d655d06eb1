#!/usr/bin/env bash
# build.sh [BUILD_DIR] [extra cmake args...]: configure (once) and build everything with Ninja.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
shift || true
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELGATE_WERROR=ON "$@" >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
