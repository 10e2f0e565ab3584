#!/bin/sh
# Installs what the build and the tests need (Debian packages, pinned npm clients), builds
# and runs the whole suite through CTest three ways:
#   1. debug preset: unit, integration (real daemon + real clients) and benchmark smoke tests;
#   2. asan preset: the same under AddressSanitizer + UndefinedBehaviorSanitizer
#      (tests labelled no-asan are skipped: timing-bound load runs);
#   3. fuzz preset (clang): every libFuzzer target runs briefly over its seeds;
#   4. the Debian packages: amd64 and arm64 (cross-built) .debs, lintian, the amd64 package
#      installed, upgraded and purged on this machine (root), the arm64 binary under qemu.
# Environment: CG_SKIP_ASAN=1 / CG_SKIP_FUZZ=1 / CG_SKIP_PACKAGES=1 skip a stage for quick
# local runs.
set -eu
cd "$(dirname "$0")"

packaging/install-build-deps.sh --test --cross arm64
if [ -f tests/clients/package-lock.json ]; then
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
fi

jobs=$(nproc)
echo "== debug build and tests"
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$jobs"
ctest --preset debug -j "$jobs"

if [ "${CG_SKIP_ASAN:-0}" != "1" ]; then
  echo "== asan build and tests"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j "$jobs" -LE "no-asan|bench"
fi

if [ "${CG_SKIP_FUZZ:-0}" != "1" ]; then
  echo "== fuzz smoke runs"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$jobs" --target fuzz_all
  ctest --preset fuzz -j "$jobs"
fi
# A package test: exit code 77 is a skip (it says why), anything else but 0 a failure.
package_test() {
  rc=0
  /usr/bin/python3 "$@" || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || exit "$rc"
}
if [ "${CG_SKIP_PACKAGES:-0}" != "1" ]; then
  echo "== packages"
  rm -rf build/packages
  # noddebs: CI has no use for the -dbgsym packages, whose compression takes minutes.
  DEB_BUILD_OPTIONS=noddebs packaging/build-deb.sh amd64 build/packages
  DEB_BUILD_OPTIONS=noddebs packaging/build-deb.sh arm64 build/packages
  tests/packaging/lintian_check.sh build/packages/clinic-gateway_*_amd64.deb \
    build/packages/clinic-gateway_*_arm64.deb
  package_test tests/packaging/deb_install_test.py build/packages/clinic-gateway_*_amd64.deb
  package_test tests/packaging/arm64_smoke_test.py build/packages/clinic-gateway_*_arm64.deb
fi
echo "== all tests passed"
