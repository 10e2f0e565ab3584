#!/bin/sh
# Installs the Debian 12 packages needed to build, run and test clinic-gateway.
# Idempotent: does nothing when everything is present. Needs root or sudo.
# Usage: packaging/install-build-deps.sh [--test]   (--test adds what the tests use)
set -eu

BUILD_PACKAGES="g++ cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev
  libsqlite3-dev libssl-dev zlib1g-dev libzstd-dev libjemalloc-dev libpugixml-dev
  libtomlplusplus-dev
  libsystemd-dev libavahi-client-dev libargon2-dev"
TEST_PACKAGES="doctest-dev curl bzip2 sqlite3 nginx-light wrk procps
  clang-14 libclang-rt-14-dev clang-format openssl systemd python3 python3-hl7
  rsyslog rsyslog-openssl prometheus"

packages="$BUILD_PACKAGES"
if [ "${1:-}" = "--test" ]; then
  packages="$packages $TEST_PACKAGES"
  # Node may come from another packaging (e.g. nodesource's nodejs, which bundles npm):
  # only install Debian's when the commands are missing, never over an existing Node.
  command -v node >/dev/null 2>&1 || packages="$packages nodejs"
  command -v npm >/dev/null 2>&1 || packages="$packages npm"
fi

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing Debian packages:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
