#!/usr/bin/env bash
# Interoperability with a real peer: lomond's blocking and tokio clients,
# with permessage-deflate in several configurations, against Python's
# `websockets` echo server (installed with the Autobahn suite's tools).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
env_dir=${AUTOBAHN_ENV:-$root/target/autobahn-env}
py=$env_dir/py3/bin/python
bash "$root/scripts/autobahn/install.sh" "$env_dir"
port=${INTEROP_PORT:-9101}
"$py" scripts/interop/echo_server.py "$port" >"$root/target/interop-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.1
done
cargo run -q --release -p lomond --example interop -- "ws://127.0.0.1:$port/"
