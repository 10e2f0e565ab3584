#!/bin/sh
# Builds the clinic-gateway Debian package for one architecture from this working tree.
#   packaging/build-deb.sh [ARCH] [OUTDIR]     ARCH: amd64 (default: this machine's) | arm64
# Writes OUTDIR/clinic-gateway_<version>_<arch>.deb (default OUTDIR: build/packages) and the
# -dbgsym package next to it. A foreign ARCH is cross-built with Debian's cross toolchain
# (crossbuild-essential-<arch>) against the <arch> -dev packages:
# packaging/install-build-deps.sh --cross ARCH installs them.
# The source tree is copied (tracked and new files, not build/) to build/deb-<arch>/src with
# packaging/debian as debian/, then dpkg-buildpackage builds it there.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-$(dpkg --print-architecture)}
out=${2:-$repo/build/packages}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
work="$repo/build/deb-$arch"

rm -rf "$work/src"
mkdir -p "$work/src" "$out"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$repo" && tar --null -T - -cf -) | tar -xf - -C "$work/src"
# debian/ links to the unit files in systemd/: copy what they point at.
rm -rf "$work/src/debian"
cp -rL "$repo/packaging/debian" "$work/src/debian"

# debhelper gives the build a HOME of its own: point ccache at the usual cache explicitly.
if command -v ccache >/dev/null 2>&1; then
  CCACHE_DIR=${CCACHE_DIR:-$(ccache -k cache_dir)}
  export CCACHE_DIR
fi

build_arch=$(dpkg --print-architecture)
set -- -us -uc -b -jauto
if [ "$arch" != "$build_arch" ]; then
  # -d: the build dependencies are checked for the host architecture, where libjemalloc-dev
  # cannot be installed next to the build machine's (debian/rules says how it is linked).
  set -- "$@" -a "$arch" -d
fi
(cd "$work/src" && DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage "$@")

for f in "$work"/clinic-gateway*_"$arch".*deb; do
  mv "$f" "$out/"
  echo "built $out/$(basename "$f")"
done
rm -f "$work"/*.buildinfo "$work"/*.changes
