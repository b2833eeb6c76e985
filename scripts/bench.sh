#!/usr/bin/env bash
# Runs the benchmarks (discovery latency and idle RSS, hydra-cpp beside Node Hydra 1.9.3) after
# set-up has installed and built everything. Usage: [BUILD_DIR=dir] scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh "$BUILD_DIR"
# The benchmark starts its own private redis-server and Node peers; nothing else is touched.
exec "$BUILD_DIR/bench/discovery_bench"
