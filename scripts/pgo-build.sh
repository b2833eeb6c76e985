#!/usr/bin/env bash
# Builds hydra-cpp's library, programs and benchmarks with profile-guided optimisation, in a
# build directory of its own (default build-pgo, without the tests): an instrumented build, a
# training run of messaging_bench (C++ rows only: messages and queues), then the optimised
# build from the profiles that run wrote. Installs what is missing first (scripts/setup.sh).
# Quick when the sources have not changed since the last run: the profiles are kept with a
# hash of the sources they were made from, and made again when that changes.
# Usage: scripts/pgo-build.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-pgo}
scripts/setup.sh --no-build
mkdir -p "$BUILD_DIR"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
PROFILE_DIR="$BUILD_DIR/pgo"
STAMP="$BUILD_DIR/pgo.sources"

sources=$(git ls-files --cached --others --exclude-standard -z -- src include apps examples bench \
  tests/support CMakeLists.txt | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)

configure() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHYDRA_BUILD_TESTS=OFF \
    -DHYDRA_PGO="$1" -DHYDRA_PGO_DIR="$PROFILE_DIR" >/dev/null
}
build() {
  cmake --build "$BUILD_DIR" -j"$(nproc)" >/dev/null
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$sources" ] && [ -d "$PROFILE_DIR" ]; then
  configure use
  build
  exit 0
fi

rm -f "$STAMP"
rm -rf "$PROFILE_DIR"
echo "pgo-build: instrumented build in $BUILD_DIR"
configure generate
build
echo "pgo-build: training run (messaging_bench --no-node)"
if ! "$BUILD_DIR/bench/messaging_bench" --no-node --many 100000 --many-items 100000 \
  >"$BUILD_DIR/pgo-training.log" 2>&1; then
  cat "$BUILD_DIR/pgo-training.log" >&2
  echo "pgo-build: the training run failed" >&2
  exit 1
fi
echo "pgo-build: optimised build from the profiles in $PROFILE_DIR"
configure use
build
echo "$sources" > "$STAMP"
