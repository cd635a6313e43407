#!/usr/bin/env bash
# Black hole and heal, measured for lomond (both drivers), Python
# websockets 17 and Python Lomond 0.3.4 in the same network lab with the
# same keepalive (bench/src/bin/netlab.rs). As root; by hand, not in CI
# (RUNS runs of each, about 20 s each). Prints a Markdown table.
#   bash bench/netlab.sh [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${1:-5}
[ "$(id -u)" = 0 ] || { echo "[netlab] needs root (network namespaces)" >&2; exit 1; }
command -v iptables >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q iptables >/dev/null
env=target/netlab-env
if ! "$env/bin/python" -c 'import websockets, lomond' 2>/dev/null; then
  python3 -m venv "$env"
  "$env/bin/pip" install -q websockets==17.0 lomond==0.3.4
fi
cargo build -q --release -p lomond-bench --bin bench-netlab
target/release/bench-netlab measure "$runs" "$root/$env/bin/python"
