#!/bin/sh
# Installs the Debian 12 packages needed to build, run and test clinic-gateway.
# Idempotent: does nothing when everything is present. Needs root or sudo.
# Usage: packaging/install-build-deps.sh [--test] [--cross ARCH]
#   --test        adds what the tests use, and the tools that build and check the packages
#   --cross ARCH  adds a cross toolchain and ARCH's -dev packages (dpkg --add-architecture)
#                 for packaging/build-deb.sh ARCH, and qemu-user-static to run the result
set -eu

BUILD_PACKAGES="g++ cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev
  libsqlite3-dev libssl-dev zlib1g-dev libzstd-dev libjemalloc-dev libpugixml-dev
  libtomlplusplus-dev
  libsystemd-dev libavahi-client-dev libargon2-dev libarchive-dev"
TEST_PACKAGES="doctest-dev curl bzip2 sqlite3 nginx-light wrk procps
  clang-14 libclang-rt-14-dev clang-format openssl systemd python3 python3-hl7
  rsyslog rsyslog-openssl prometheus
  dbus avahi-daemon avahi-utils iproute2
  debhelper dpkg-dev lintian"
# The libraries the daemon links, for a cross-build (architecture-qualified below). jemalloc's
# -dev package cannot sit next to the build machine's: the runtime library is enough
# (packaging/debian/rules).
CROSS_LIBRARIES="libboost1.81-dev libboost-json1.81-dev libsqlite3-dev libssl-dev zlib1g-dev
  libzstd-dev libjemalloc2 libpugixml-dev libtomlplusplus-dev libsystemd-dev
  libavahi-client-dev libargon2-dev libarchive-dev"

test_deps=0
cross_arch=""
while [ $# -gt 0 ]; do
  case "$1" in
    --test) test_deps=1 ;;
    --cross) cross_arch="${2:?--cross needs an architecture, e.g. arm64}"; shift ;;
    *) echo "usage: $0 [--test] [--cross ARCH]" >&2; exit 2 ;;
  esac
  shift
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages="$BUILD_PACKAGES"
if [ -n "$cross_arch" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx "$cross_arch"; then
    $SUDO dpkg --add-architecture "$cross_arch"
    $SUDO apt-get update -qq
  fi
  packages="$packages crossbuild-essential-$cross_arch qemu-user-static"
  for p in $CROSS_LIBRARIES; do packages="$packages $p:$cross_arch"; done
fi
if [ "$test_deps" = 1 ]; then
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

echo "Installing Debian packages:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
