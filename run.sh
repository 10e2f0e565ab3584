#!/bin/sh
# Installs what is missing (Debian packages), builds the release preset, and starts the
# gateway in the foreground on http://127.0.0.1:8080/fhir with its data in ./var/.
# A demo bearer token is generated on first run; it is printed on every start.
set -eu
cd "$(dirname "$0")"

packaging/install-build-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target clinic-gateway >&2
bin=build/release/gateway/clinic-gateway

mkdir -p var
if [ ! -f var/gateway.toml ]; then
  token=$("$bin" new-token | sed -n 's/^token: *//p')
  hash=$("$bin" hash-token "$token")
  umask 077
  printf '%s\n' "$token" > var/demo-token
  sed "s/@TOKEN_SHA256@/$hash/" packaging/demo-gateway.toml.in > var/gateway.toml
fi
echo "FHIR base: http://127.0.0.1:8080/fhir"
echo "Access token: $(cat var/demo-token)"
exec "$bin" serve --config var/gateway.toml
