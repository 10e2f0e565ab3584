#!/bin/sh
# Installs what is missing (Debian packages), builds the release preset, and starts the
# gateway in the foreground on http://127.0.0.1:8080/fhir with its data in ./var/.
# A demo bearer token is generated on first run; it is printed on every start.
# --demo-data also loads the demo clinic (packaging/demo-data.py) once the server answers.
set -eu
cd "$(dirname "$0")"

load_demo=0
case "${1:-}" in
  "") ;;
  --demo-data) load_demo=1 ;;
  *) echo "usage: $0 [--demo-data]" >&2; exit 2 ;;
esac
if [ "$load_demo" = 1 ] && [ ! -x /usr/bin/python3 ]; then
  echo "--demo-data needs /usr/bin/python3 (apt-get install python3)" >&2
  exit 1
fi

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
if [ "$load_demo" = 1 ]; then
  # Detached (double fork), so that the server below keeps the foreground and the signals.
  # The loader waits for the server (bounded), PUTs the demo clinic, prints one line, exits.
  ( /usr/bin/python3 packaging/demo-data.py --wait 120 & )
fi
exec "$bin" serve --config var/gateway.toml
