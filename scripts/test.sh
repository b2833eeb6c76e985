#!/usr/bin/env bash
# The whole test suite: set-up (install, build), format check, then every ctest tier
# (unit, integration against a private redis-server, interop with Node Hydra 1.9.3, chaos).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh "$BUILD_DIR"
scripts/check-format.sh
cd "$BUILD_DIR"
ctest --output-on-failure -j2 --timeout 300 "$@"
