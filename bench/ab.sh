#!/usr/bin/env bash
# bench/ab.sh BEFORE AFTER [REPS]: lomond's CPU per message built from two
# checkouts (each with `cargo build --release -p lomond-bench` done), both
# drivers, each client run in turn against one bench-server, the order
# swapped each repetition; prints medians, CPU s per million messages.
# CASES="recv:65536:8192 ..." (scenario:size:count) narrows the run.
set -uo pipefail
before=$1 after=$2 reps=${3:-7}
port=$((20000 + RANDOM % 20000))
$before/target/release/bench-server 127.0.0.1:$port >/dev/null &
srv=$!
sleep 0.3
url=ws://127.0.0.1:$port/
out=$(mktemp); export AB_OUT=$out
cases=${CASES:-"recv:16:1000000 recv:1024:524288 recv:65536:8192 recv:1048576:2000 send:16:1000000 send:1024:524288 send:65536:8192 send:1048576:2000 echo1:32:20000 echo64:32:500000"}
for rep in $(seq $reps); do
  for c in $cases; do
    IFS=: read sc size n <<< "$c"
    for lib in lomond-blocking lomond-tokio; do
      if (( rep % 2 )); then order="before after"; else order="after before"; fi
      for side in $order; do
        if [ $side = before ]; then dir=$before; else dir=$after; fi
        line=$($dir/target/release/bench-client $lib $sc $size $n $url 2>/dev/null)
        echo "$side $line" >> $out
      done
    done
  done
done
kill $srv
python3 - <<'PY'
import collections, statistics
d=collections.defaultdict(list)
import os
for l in open(os.environ['AB_OUT']):
    f=l.split()
    if len(f)<7: continue
    side,lib,sc,size,n,secs,cpu=f[:7]
    d[(lib,sc,size,side)].append(float(cpu)/int(n)*1e6)
keys=sorted({k[:3] for k in d}, key=lambda k:(k[0],k[1],int(k[2])))
print("| library | scenario | size | before CPU s/M | after CPU s/M | after/before |")
print("|---|---|---:|---:|---:|---:|")
for k in keys:
    b=statistics.median(d[k+('before',)]); a=statistics.median(d[k+('after',)])
    print(f"| {k[0]} | {k[1]} | {k[2]} | {b:.3f} | {a:.3f} | {a/b:.2f} |")
PY
