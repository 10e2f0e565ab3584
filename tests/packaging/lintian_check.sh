#!/bin/sh
# lintian on the built packages: any error or warning fails, unless
# packaging/debian/clinic-gateway.lintian-overrides overrides it (each override says why).
#   tests/packaging/lintian_check.sh PACKAGE.deb...
set -eu
lintian --fail-on error,warning --tag-display-limit 0 --display-info "$@"
echo "lintian: no errors or warnings in $*"
