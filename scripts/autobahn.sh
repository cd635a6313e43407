#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzing server against lomond's clients and
# fails if any case is outside OK / INFORMATIONAL.
#
#   scripts/autobahn.sh [CASES] [CLIENT...]
#
# CASES is a JSON list for the spec (default: cases 1.* to 10.*); CLIENT is
# blocking and/or tokio (default: both), each run by examples/autobahn.rs. The suite is installed once under target/autobahn-env from
# ../shared/autobahn (see its README); reports go to target/autobahn/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
shared=${AUTOBAHN_SHARED:-$root/../shared/autobahn}
env_dir=${AUTOBAHN_ENV:-$root/target/autobahn-env}
out=$root/target/autobahn
port=${AUTOBAHN_PORT:-9001}
cases=${1:-'["1.*","2.*","3.*","4.*","5.*","6.*","7.*","8.*","9.*","10.*"]'}
shift || true
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(blocking tokio)

if [ ! -x "$env_dir/bin/wstest" ]; then
  echo "[autobahn] installing the suite into $env_dir" >&2
  bash "$shared/setup.sh" "$env_dir" >"$root/target/autobahn-setup.log" 2>&1 \
    || { tail -30 "$root/target/autobahn-setup.log"; exit 1; }
fi

cargo build -q --release -p lomond --examples
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

(cd "$out" && exec "$env_dir/bin/wstest" -m fuzzingserver -s "$out/spec.json" >"$out/server.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.2
done

status=0
for client in "${clients[@]}"; do
  agent="lomond-$client"
  flag=""; [ "$client" = tokio ] && flag=--tokio
  echo "[autobahn] $client: cases $cases" >&2
  start=$(date +%s)
  "$root/target/release/examples/autobahn" "ws://127.0.0.1:$port" "$agent" $flag
  echo "[autobahn] $client took $(( $(date +%s) - start )) s" >&2
  python3 "$shared/summarize.py" "$out/reports/index.json" --agent "$agent" || status=1
  python3 - "$out/reports/index.json" "$agent" <<'PY'
import json, sys
cases = json.load(open(sys.argv[1])).get(sys.argv[2], {})
good = {"OK", "INFORMATIONAL"}
ok = sum(1 for c in cases.values() if c["behavior"] in good and c["behaviorClose"] in good)
print(f"autobahn: {ok} passed, {len(cases) - ok} failed")
PY
done
exit $status
