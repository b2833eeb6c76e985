#!/usr/bin/env bash
# Installs what is missing (Debian packages, the Node interop packages) and builds hydra-cpp.
# Idempotent and quiet when everything is already there.
# Usage: scripts/setup.sh [build-dir]   (scripts/setup.sh --no-build: only the installs)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
NO_BUILD=0
if [ "$BUILD_DIR" = "--no-build" ]; then NO_BUILD=1; fi

APT_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config clang-format clang-tidy openssl
  libboost1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libhiredis-dev libssl-dev libcli11-dev googletest libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools redis-sentinel zlib1g-dev libjemalloc-dev chromium
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Debian's redis-server package starts a system service; hydra-cpp never uses it.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node Hydra (the reference implementation) for the interoperability tests and benchmarks.
NODE_DIR=tests/interop/node
stamp="$NODE_DIR/node_modules/.lock-sha"
want=$(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci in $NODE_DIR"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$stamp"
fi

if [ "$NO_BUILD" -eq 1 ]; then exit 0; fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" | grep -v -E '^\[[0-9]+/[0-9]+\] ' || true
# grep hides the progress lines; the build's own status is what counts.
cmake --build "$BUILD_DIR" -j"$(nproc)" >/dev/null
