#!/bin/sh
# Installs what the build and the tests need (Debian packages, pinned npm clients),
# builds the debug and asan presets, and runs the whole test suite through CTest.
# Environment: CG_SKIP_ASAN=1 skips the sanitizer pass (for quick local runs).
set -eu
cd "$(dirname "$0")"

packaging/install-build-deps.sh --test
if [ -f tests/clients/package-lock.json ]; then
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
fi

jobs=$(nproc)
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$jobs"
ctest --preset debug -j "$jobs"

if [ "${CG_SKIP_ASAN:-0}" != "1" ]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j "$jobs" -LE "no-asan"
fi
