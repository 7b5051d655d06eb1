#!/usr/bin/env bash
# test.sh: set up, build and run every test (this is what .ci/run calls): the CTest suites (unit,
# CLI, integration over real TLS, fuzz-corpus replays), the example policies' own tests, the Helm
# chart with real helm and Kubernetes schemas, the container image built and run with podman, and
# the sanitizer runs (the whole suite under ASan + UBSan, a 5 s fuzzing smoke run per target, the
# server and orchestration suites under TSan: scripts/sanitize.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" "$ROOT/build"
(cd "$ROOT/build" && ctest --output-on-failure -j "$(nproc)" --timeout 600)
echo "== modelgate policy test examples/policy-tests"
"$ROOT/build/admission/modelgate" policy test "$ROOT/examples/policy-tests"
echo "== packaging: helm chart"
"$ROOT/scripts/package_test.sh"
echo "== packaging: container image (podman)"
"$ROOT/scripts/image_test.sh"
echo "== sanitizers: ASan + UBSan (whole suite, fuzz smoke), TSan (admission, integration)"
"$ROOT/scripts/sanitize.sh" all 5
