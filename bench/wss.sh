#!/usr/bin/env bash
# bench/wss.sh [REPS]: client CPU per message over wss (rustls with ring
# for every library, TLS 1.3, AES-128-GCM) for lomond's two drivers,
# tokio-tungstenite and tokio-websockets, each client run in turn against
# one `bench-server --tls`, the library order rotated each repetition;
# prints the medians (CPU s per million messages) and each one's ratio to
# the best peer's. CASES="recv:1024:100000 ..." (scenario:size:count)
# narrows the run. Build first: cargo build --release -p lomond-bench.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release
reps=${1:-5}
port=$((20000 + RANDOM % 20000))
"$bin/bench-server" 127.0.0.1:$port --tls >/dev/null 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
url=wss://127.0.0.1:$port/
out=$(mktemp)
cases=${CASES:-"recv:16:400000 recv:1024:200000 recv:65536:4096 recv:1048576:300 send:16:400000 send:1024:200000 send:65536:4096 send:1048576:300 echo1:32:10000 echo64:32:200000"}
libs=(lomond-blocking lomond-tokio tokio-websockets tokio-tungstenite)
for rep in $(seq "$reps"); do
  for c in $cases; do
    IFS=: read -r sc size n <<<"$c"
    for i in "${!libs[@]}"; do
      lib=${libs[$(( (i + rep) % ${#libs[@]} ))]}
      "$bin/bench-client" "$lib" "$sc" "$size" "$n" "$url" >>"$out" 2>/dev/null \
        || echo "[wss] $lib $sc $size failed" >&2
    done
  done
done
WSS_OUT=$out python3 - <<'PY'
import collections, os, statistics
d = collections.defaultdict(list)
for l in open(os.environ["WSS_OUT"]):
    f = l.split()
    if len(f) < 7:
        continue
    lib, sc, size, n, secs, cpu = f[:6]
    d[(sc, int(size), lib)].append(float(cpu) / int(n) * 1e6)
cases = sorted({k[:2] for k in d}, key=lambda k: (k[0], k[1]))
libs = ["lomond-blocking", "lomond-tokio", "tokio-websockets", "tokio-tungstenite"]
print("| scenario | size | " + " | ".join(libs) + " | lomond blocking / tokio vs best peer |")
print("|---|---:|" + "---:|" * len(libs) + "---:|")
for sc, size in cases:
    med = {lib: statistics.median(d[(sc, size, lib)]) for lib in libs if d.get((sc, size, lib))}
    peers = [med[l] for l in libs[2:] if l in med]
    best = min(peers) if peers else float("nan")
    ratios = " / ".join(f"{med[l] / best:.2f}" for l in libs[:2] if l in med)
    print(f"| {sc} | {size} | " + " | ".join(f"{med.get(l, float('nan')):.2f}" for l in libs) + f" | {ratios} |")
PY
rm -f "$out"
