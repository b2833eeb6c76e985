#!/usr/bin/env bash
# Runs every benchmark (<build>/bench/*_bench: discovery latency and idle RSS, messaging and
# queues, HTTP, hydra-router), hydra-cpp beside Node Hydra 1.9.3, after set-up has installed and
# built everything.
# Usage: [BUILD_DIR=dir] [PGO=1] scripts/bench.sh
# PGO=1 measures a profile-guided build (scripts/pgo-build.sh; BUILD_DIR defaults to build-pgo).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${PGO:-0}" = "1" ]; then
  BUILD_DIR=${BUILD_DIR:-build-pgo}
  scripts/pgo-build.sh "$BUILD_DIR"
else
  BUILD_DIR=${BUILD_DIR:-build}
  scripts/setup.sh "$BUILD_DIR"
fi
# The HTTP and router benchmarks use wrk as a load generator (Debian package; benchmarks only).
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
# Each benchmark starts its own private redis-server and Node peers; nothing else is touched.
shopt -s nullglob
benches=("$BUILD_DIR"/bench/*_bench)
if [ ${#benches[@]} -eq 0 ]; then
  echo "no benchmarks in $BUILD_DIR/bench" >&2
  exit 1
fi
status=0
for bench in "${benches[@]}"; do
  [ -x "$bench" ] || continue
  echo "== $(basename "$bench")"
  if ! "$bench"; then
    echo "== $(basename "$bench") FAILED" >&2
    status=1
  fi
  echo
done
exit $status
