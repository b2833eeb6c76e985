#!/usr/bin/env bash
# Fails when a C++ file is not clang-formatted (the style is .clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find include src apps examples tests bench -name '*.[ch]pp')
bad=()
for f in $files; do
  [ -f "$f" ] || continue
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "format: not clang-formatted (run scripts/format.sh): ${bad[*]}" >&2
  exit 1
fi
echo "format: ok"
