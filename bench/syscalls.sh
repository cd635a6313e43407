#!/usr/bin/env bash
# bench/syscalls.sh [ws|wss] [LIB,LIB..]: system calls per message, by
# `strace -f -c`, which the machine's load cannot move: each client runs a
# scenario twice (N1 and N2 messages), and the difference divided by
# N2 - N1 cancels start-up and the handshake. Prints a table of every
# scenario and library (calls per 1,000 messages, and the calls that make
# them up), with lomond's ratio to the fewest any peer makes. Build first:
# cargo build --release -p lomond-bench. Needs strace (apt-get install
# strace). CASES="echo1:32:2000:4000 ..." narrows the run.
set -euo pipefail
tool=syscalls needs=strace
# shellcheck source=bench/counts.sh
source "$(dirname "$0")/counts.sh"
count() { # LIB SCENARIO SIZE N: "name calls" lines of one run
  strace -f -c -o "$work/st" "$bin/bench-client" "$1" "$2" "$3" "$4" "$scheme://127.0.0.1:$port/" \
    >/dev/null 2>"$work/err" \
    || { echo "[syscalls] $1 $2 $3 failed: $(tail -n 3 "$work/err")" >&2; return 1; }
  # Columns: % time, seconds, usecs/call, calls, [errors,] syscall.
  awk '$4 ~ /^[0-9]+$/ && $NF ~ /^[a-z_0-9]+$/ && $NF != "total" {print $NF, $4}' "$work/st" | sort -k1,1
}
for c in $cases; do
  IFS=: read -r sc size n1 n2 <<<"$c"
  for lib in ${libs//,/ }; do
    count "$lib" "$sc" "$size" "$n1" >"$work/a" && count "$lib" "$sc" "$size" "$n2" >"$work/b" || continue
    join -a2 -e0 -o 0,1.2,2.2 "$work/a" "$work/b" | while read -r name a b; do
      echo "$sc $size $lib $name $a $b $n1 $n2"
    done >>"$work/table"
  done
done
TABLE=$work/table LIBS=$libs python3 - <<'PY'
import os
from collections import defaultdict
libs = os.environ["LIBS"].split(",")
per = defaultdict(dict)  # (sc, size, lib) -> {name: calls per message}
cases = []
for line in open(os.environ["TABLE"]):
    sc, size, lib, name, a, b, n1, n2 = line.split()
    # Calls per 1,000 messages; a difference of a call or two is start-up.
    v = 1000 * (int(b) - int(a)) / (int(n2) - int(n1))
    if abs(int(b) - int(a)) > 2:
        per[(sc, size, lib)][name] = v
    else:
        per[(sc, size, lib)]
    if (sc, size) not in cases:
        cases.append((sc, size))
ours = [l for l in libs if l.startswith("lomond")]
peers = [l for l in libs if not l.startswith("lomond") and not l.startswith("floor")]
print("| scenario | size | " + " | ".join(libs) + " | " + " / ".join(ours) + " vs fewest peer |")
print("|---|---:|" + "---:|" * len(libs) + "---:|")
for sc, size in cases:
    tot = {l: sum(per[(sc, size, l)].values()) for l in libs if (sc, size, l) in per}
    best = min((tot[l] for l in peers if l in tot), default=None)
    ratio = " / ".join(f"{tot[l] / best:.2f}" if best and l in tot else "-" for l in ours)
    print(f"| {sc} | {size} | " + " | ".join(f"{tot[l]:,.1f}" if l in tot else "-" for l in libs) + f" | {ratio} |")
print()
print("Calls per 1,000 messages, by name:")
print()
for sc, size in cases:
    for l in libs:
        calls = per.get((sc, size, l))
        if calls:
            parts = ", ".join(f"{n} {v:,.1f}" for n, v in sorted(calls.items(), key=lambda kv: -kv[1]))
            print(f"- {sc} {size} {l}: {parts}")
PY
