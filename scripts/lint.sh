#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) over the library and the apps. Slow; not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh "$BUILD_DIR"
# (boost_json_src.cpp only compiles Boost.JSON's own sources into the library.)
git ls-files 'src/*.cpp' 'apps/*.cpp' | grep -v '^src/json/boost_json_src.cpp$' | xargs -r -P"$(nproc)" -n4 clang-tidy -p "$BUILD_DIR" --quiet
