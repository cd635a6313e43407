#!/usr/bin/env bash
# Interoperability with real peers: lomond's blocking client, tokio event
# stream and tokio Stream/Sink face, with permessage-deflate in several
# configurations, against two echo servers: Python's `websockets`
# (installed with the Autobahn suite's tools) and Node's `ws` (installed
# here with npm, into target/node-ws, pinned).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/tls/nginx.sh   # for wait_port
env_dir=${AUTOBAHN_ENV:-$root/target/autobahn-env}
py=$env_dir/py3/bin/python
bash "$root/scripts/autobahn/install.sh" "$env_dir"
WS_VERSION=8.23.0
node_dir=$root/target/node-ws
if ! { command -v node && command -v npm; } >/dev/null; then
  mkdir -p "$root/target"
  echo "[interop] installing nodejs and npm (apt-get), for the ws peer" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >"$root/target/node-install.log" 2>&1 \
    || { echo "[interop] could not install nodejs and npm: see target/node-install.log" >&2; exit 1; }
fi
if [ "$(node -p "try { require('$node_dir/node_modules/ws/package.json').version } catch (e) { '' }")" != "$WS_VERSION" ]; then
  echo "[interop] installing ws@$WS_VERSION into target/node-ws (npm)" >&2
  mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-audit --no-fund --silent "ws@$WS_VERSION" \
    >"$root/target/node-ws-install.log" 2>&1 \
    || { echo "[interop] npm could not install ws: see target/node-ws-install.log" >&2; exit 1; }
fi
cargo build -q --release -p lomond --example interop
servers=()
trap 'kill "${servers[@]}" 2>/dev/null || true' EXIT
# Starts a peer on a port and waits for it to listen; fails if it does not.
start() {
  local name=$1 port=$2
  shift 2
  "$@" "$port" >"$root/target/interop-$name.log" 2>&1 &
  servers+=($!)
  wait_port "$port" && return 0
  echo "[interop] the $name server did not start: see target/interop-$name.log" >&2
  exit 1
}
py_port=${INTEROP_PORT:-9101}
node_port=$((py_port + 1))
start websockets "$py_port" "$py" scripts/interop/echo_server.py
start ws "$node_port" env NODE_PATH="$node_dir/node_modules" node scripts/interop/echo_server.js
echo "[interop] Python websockets:"
target/release/examples/interop "ws://127.0.0.1:$py_port/"
echo "[interop] Node ws $WS_VERSION:"
target/release/examples/interop "ws://127.0.0.1:$node_port/"
