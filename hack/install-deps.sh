#!/bin/sh
# Installs the Debian packages skiff and its tests need, if missing. Run as
# root on Debian bookworm. Go is expected at /usr/local/go.
set -eu
need=""
for pkg in ca-certificates git make; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
if [ -n "$need" ]; then
  echo "installing:$need"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
fi
