#!/usr/bin/env bash
# Persist against real kernel faults: lomond/tests/netlab.rs, both drivers,
# in network namespaces joined by a veth pair (lomond-testkit's NetLab):
# a black hole and its heal (iptables DROP), 20% packet loss (iptables'
# statistic match) and a 256 kbit/s link (tc tbf) carrying a 1 MiB message.
# The namespaces' range, 10.231.0.0/16, is black-holed in the root
# namespace, so no test packet can leave the machine.
#
# Needs root (network namespaces, veth, firewall rules): it fails, saying
# so, without it. Installs iptables and iproute2 from Debian's packages
# when missing. About 45 s: the tests run side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ "$(id -u)" != 0 ]; then
  echo "[netlab] needs root, for network namespaces, veth pairs and iptables rules;" >&2
  echo "[netlab] run it as root (CI does): sudo bash scripts/netlab.sh" >&2
  exit 1
fi
missing=()
command -v iptables >/dev/null || missing+=(iptables)
{ command -v ip && command -v tc; } >/dev/null || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  mkdir -p target
  echo "[netlab] installing ${missing[*]} (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$root/target/netlab-install.log" 2>&1 \
    || { echo "[netlab] could not install ${missing[*]}: see target/netlab-install.log" >&2; exit 1; }
fi
# The tests sleep through their faults: run them all at once.
cargo test -q -p lomond --test netlab -- --ignored --test-threads 16 "$@"
