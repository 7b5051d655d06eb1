#!/usr/bin/env bash
# setup.sh: install every Debian package the build, tests and benches need. Idempotent and quiet
# when everything is already there. Debian packages only; nothing else is downloaded.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev openssl            # OpenSSL 3: every primitive, and the CLI as a test oracle
  libcpp-httplib-dev            # HTTPS server
  nlohmann-json3-dev            # JSON
  libyaml-cpp-dev               # policy YAML
  libre2-dev                    # policy patterns
  catch2                        # tests (v2, catch2/catch.hpp)
  libcli11-dev                  # command line
  prometheus-cpp-dev            # /metrics
  coreutils                     # sha256sum as an independent oracle
  curl jq                       # the demo talks to the webhook as the apiserver would
  python3                       # makes the fuzz seed corpora from ../shared/vectors at test time
  ccache                        # test.sh: the plain build and the image build share one compiler cache
  docker-registry apache2-utils # a real OCI registry (distribution 2.8) + htpasswd for tests/oci
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
