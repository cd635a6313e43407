#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzing server against lomond's clients, with
# permessage-deflate offered, and fails if any case is outside OK and
# INFORMATIONAL.
#
#   scripts/autobahn.sh [CASES] [CLIENT...]
#
# CASES is a JSON list for the spec (default: all 517 cases, ["*"]); CLIENT
# is blocking and/or tokio (default: both), each run by examples/autobahn.rs
# against its own fuzzing server, in parallel (the suite's server is the
# bottleneck: about 2 s per compression case). The suite is installed once
# under target/autobahn-env by scripts/autobahn/install.sh, from Debian's
# archive and PyPI. Reports go to target/autobahn/CLIENT/reports/.
#
# With AUTOBAHN_WSS=1 the clients connect over wss://, through nginx
# terminating TLS in front of each fuzzing server (certificates made for
# the run; scripts/tls/nginx.sh), and reports go to target/autobahn-wss/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
here=$root/scripts/autobahn
env_dir=${AUTOBAHN_ENV:-$root/target/autobahn-env}
base_port=${AUTOBAHN_PORT:-9001}
cases=${1:-'["*"]'}
shift || true
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(blocking tokio)

bash "$here/install.sh" "$env_dir"
cargo build -q --release -p lomond --example autobahn
wss=${AUTOBAHN_WSS:-}
reports=autobahn; [ -n "$wss" ] && reports=autobahn-wss
front=$((base_port + 50))

pids=()
source "$root/scripts/tls/nginx.sh"
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; stop_nginx; }
trap cleanup EXIT
if [ -n "$wss" ]; then
  tls_work=$root/target/autobahn-wss/nginx
  rm -rf "$tls_work"; mkdir -p "$tls_work"
  tls_certs "$tls_work/certs"
  start_nginx "$root/scripts/tls/autobahn-nginx.conf" "$tls_work" "s|@CERTS@|$tls_work/certs|g; \
s|@FRONT1@|$front|g; s|@BACK1@|$base_port|g; s|@FRONT2@|$((front + 1))|g; s|@BACK2@|$((base_port + 1))|g"
  wait_port $front
  export LOMOND_CA_FILE=$tls_work/certs/ca.pem
fi

# One server and one client per CLIENT, each pair in the background.
run() {
  local client=$1 port=$2 out=$root/target/$reports/$1
  rm -rf "$out"; mkdir -p "$out"
  cat >"$out/spec.json" <<JSON
{
  "url": "ws://127.0.0.1:$port",
  "outdir": "$out/reports",
  "cases": $cases,
  "exclude-cases": [],
  "exclude-agent-cases": {}
}
JSON
  (cd "$out" && exec "$env_dir/bin/wstest" -m fuzzingserver -u 0 -s "$out/spec.json" >"$out/server.log" 2>&1) &
  local server=$!
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.2
  done
  local flag=""; [ "$client" = tokio ] && flag=--tokio
  local start; start=$(date +%s)
  local rc=0
  local url=ws://127.0.0.1:$port
  [ -n "$wss" ] && url=wss://127.0.0.1:$((port + 50))
  "$root/target/release/examples/autobahn" "$url" "lomond-$client" $flag --deflate \
    >"$out/client.log" 2>&1 || rc=$?
  kill $server 2>/dev/null || true
  wait $server 2>/dev/null || true
  echo "[autobahn] $client: cases $cases took $(( $(date +%s) - start )) s (exit $rc)" >&2
  return $rc
}

port=$base_port
for client in "${clients[@]}"; do
  run "$client" "$port" &
  pids+=($!)
  port=$((port + 1))
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
pids=()

for client in "${clients[@]}"; do
  out=$root/target/$reports/$client
  [ -f "$out/reports/index.json" ] || { echo "[autobahn] $client: no report"; tail -5 "$out/client.log"; status=1; continue; }
  python3 "$here/summarize.py" "$out/reports/index.json" --agent "lomond-$client" || status=1
  python3 - "$out/reports/index.json" "lomond-$client" <<'PY'
import json, sys
cases = json.load(open(sys.argv[1])).get(sys.argv[2], {})
good = {"OK", "INFORMATIONAL"}
ok = sum(1 for c in cases.values() if c["behavior"] in good and c["behaviorClose"] in good)
print(f"autobahn {sys.argv[2]}: {ok} passed, {len(cases) - ok} failed")
PY
done
exit $status
