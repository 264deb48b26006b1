#!/bin/sh
# Installs the Debian packages skiff and its tests need, if missing. Run as
# root on Debian bookworm. Go is expected at /usr/local/go.
set -eu
need=""
# containerd, runc, the CNI plugins (with iptables for masquerading and
# hostPorts), busybox-static and docker-registry: the node's
# container runtime, the test images and a local registry for pull tests.
for pkg in ca-certificates git make iproute2 iptables containerd runc containernetworking-plugins busybox-static docker-registry nftables dnsutils curl util-linux; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
if [ -n "$need" ]; then
  echo "installing:$need"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
fi
