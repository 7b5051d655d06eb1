#!/usr/bin/env bash
# test.sh: set up, build and run every test (this is what .ci/run calls).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" "$ROOT/build"
cd "$ROOT/build"
ctest --output-on-failure -j "$(nproc)" --timeout 600
