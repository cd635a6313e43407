#!/usr/bin/env bash
# bench/instructions.sh [ws|wss] [LIB,LIB..]: user-space instructions per
# message by callgrind, which the machine's load cannot move: each client
# runs a scenario twice (N1 and N2 messages) under valgrind, and the
# difference divided by N2 - N1 cancels start-up and the handshake.
# Prints a table of every scenario and library, with lomond's ratio to
# the fewest any peer needs. Build first: cargo build --release -p
# lomond-bench. Needs valgrind (apt-get install valgrind).
#
# glibc copies of 4 KiB and more use `rep movsb`, which callgrind counts
# once per byte, while smaller copies take a vector loop counted per 32
# bytes: two libraries copying the same bytes in different piece sizes
# would differ by a count that is no real cost. So by default the rep
# movsb threshold is raised past any copy (GLIBC_TUNABLES), and every
# library is counted with the vector loop; REP_MOVSB=1 keeps glibc's
# default. CASES="recv:1024:20000:40000 ..." narrows the run. REPS=5
# runs each pair five times and prints the median, for the scenarios whose
# count depends on timing (receiving 64 KiB: how much each read finds).
set -euo pipefail
tool=instructions needs=valgrind
# shellcheck source=bench/counts.sh
source "$(dirname "$0")/counts.sh"
tunables=glibc.cpu.x86_rep_movsb_threshold=4294967295
[ "${REP_MOVSB:-0}" = 1 ] && tunables=
count() { # LIB SCENARIO SIZE N: instructions of one run
  GLIBC_TUNABLES=$tunables valgrind --tool=callgrind --callgrind-out-file="$work/out" \
    "$bin/bench-client" "$1" "$2" "$3" "$4" "$scheme://127.0.0.1:$port/" >/dev/null 2>"$work/err" \
    || { echo "[instructions] $1 $2 $3 failed: $(tail -n 3 "$work/err")" >&2; return 1; }
  grep -o 'Collected : [0-9]*' "$work/err" | grep -o '[0-9]*'
}
for c in $cases; do
  IFS=: read -r sc size n1 n2 <<<"$c"
  for lib in ${libs//,/ }; do
    for _ in $(seq "${REPS:-1}"); do
      a=$(count "$lib" "$sc" "$size" "$n1") && b=$(count "$lib" "$sc" "$size" "$n2") \
        && echo "$sc $size $lib $(( (b - a) / (n2 - n1) ))" >>"$work/table"
    done
  done
done
TABLE=$work/table LIBS=$libs python3 - <<'PY'
import os
libs = os.environ["LIBS"].split(",")
runs, cases = {}, []
for line in open(os.environ["TABLE"]):
    sc, size, lib, v = line.split()
    runs.setdefault((sc, size, lib), []).append(int(v))
    if (sc, size) not in cases:
        cases.append((sc, size))
# The median of the repetitions (the lower middle one of an even count).
rows = {k: sorted(v)[(len(v) - 1) // 2] for k, v in runs.items()}
ours = [l for l in libs if l.startswith("lomond")]
peers = [l for l in libs if not l.startswith(("lomond", "floor"))]
print("| scenario | size | " + " | ".join(libs) + " | " + " / ".join(ours) + " vs fewest peer |")
print("|---|---:|" + "---:|" * len(libs) + "---:|")
for sc, size in cases:
    got = [rows.get((sc, size, l)) for l in libs]
    best = min((rows[(sc, size, l)] for l in peers if (sc, size, l) in rows), default=None)
    ratio = " / ".join(f"{rows[(sc, size, l)] / best:.2f}" if best and (sc, size, l) in rows else "-" for l in ours)
    print(f"| {sc} | {size} | " + " | ".join(f"{v:,}" if v is not None else "-" for v in got) + f" | {ratio} |")
PY
