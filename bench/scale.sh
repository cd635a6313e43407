#!/usr/bin/env bash
# bench/scale.sh [COUNT] [ACTIVE]: connections at scale, one process each
# side, one current-thread runtime in the client.
#
# - scale: COUNT idle connections (100,000 by default) from loopback
#   source addresses 127.0.N.2 and up (25,000 each, under the ephemeral
#   port range; N new for each run, clear of the last run's TIME_WAIT),
#   each read by its own task: time to open them all, client memory per
#   connection (RSS), and a ping round trip on 100 of them while all are
#   open.
# - active: ACTIVE connections (10,000) each sending 64 bytes every
#   100 ms and reading the echo: client CPU per message over 10 s.
#
# Each side needs a file descriptor per connection: the script raises the
# open-file limit as far as the machine lets it and, where that is below
# COUNT, runs as many as fit and says so. Build first: cargo build
# --release -p lomond-bench. LIBS=lomond-tokio,... narrows the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release
want=${1:-100000}
active=${2:-10000}
libs=${LIBS:-lomond-tokio,tokio-websockets,yawc,tokio-tungstenite}
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
limit=$(ulimit -n)
count=$want
if [ $((want + 500)) -gt "$limit" ]; then
  count=$((limit - 500))
  echo "[scale] the open-file limit here is $limit (hard limit; raising it needs CAP_SYS_RESOURCE): $count connections instead of $want" >&2
fi
[ $((active + 500)) -gt "$limit" ] && active=$((limit - 500))
port=$((20000 + RANDOM % 20000))
"$bin/bench-server" 127.0.0.1:$port >/dev/null 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
echo "| library | connections | time to open all | bytes per connection | ping round trip, median / max of 100 |"
echo "|---|---:|---:|---:|---:|"
net=0
for lib in ${libs//,/ }; do
  net=$((net + 1))
  line=$(SCALE_SOURCE_NET=$net "$bin/bench-client" "$lib" scale 0 "$count" "ws://127.0.0.1:$port/" | grep '^scale ') \
    || { echo "[scale] $lib failed at $count connections" >&2; continue; }
  read -r _ l n secs per med max <<<"$line"
  echo "| $l | $n | $secs s | $per | ${med} µs / ${max} µs |"
done
echo
echo "| library | active connections | messages echoed in 10 s | client CPU s | µs of CPU per message |"
echo "|---|---:|---:|---:|---:|"
for lib in ${libs//,/ }; do
  net=$((net + 1))
  line=$(SCALE_SOURCE_NET=$net "$bin/bench-client" "$lib" active 64 "$active" "ws://127.0.0.1:$port/" | grep '^active ') \
    || { echo "[scale] $lib failed at $active active connections" >&2; continue; }
  read -r _ l n msgs cpu per <<<"$line"
  echo "| $l | $n | $msgs | $cpu | $per |"
done
