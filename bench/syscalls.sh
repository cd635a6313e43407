#!/usr/bin/env bash
# bench/syscalls.sh [ws|wss] [LIB,LIB..]: system calls per message, by
# `strace -f -c`, which the machine's load cannot move: each client runs a
# scenario twice (N1 and N2 messages), and the difference divided by
# N2 - N1 cancels start-up and the handshake. Prints a table of every
# scenario and library (calls per 1,000 messages, and the calls that make
# them up), with lomond's ratio to the fewest any peer makes. Build first:
# cargo build --release -p lomond-bench. Needs strace (apt-get install
# strace). CASES="echo1:32:2000:4000 ..." narrows the run.
#
# strace stops the client at every call, which slows it several times
# over: where the count depends on timing (a firehose, where how much a
# read finds is how far the server got), the traced run is not the run
# measured for CPU. TRACER=perf counts with the kernel's syscall
# tracepoints instead (`perf stat`, apt-get install linux-perf, as root),
# which leave the client at full speed: the calls a driver makes are
# named, any other counted as `other`.
set -euo pipefail
tool=syscalls needs=strace
if [ "${TRACER:-strace}" = perf ]; then
  needs=perf
  # The tracepoints live in tracefs, which a fresh VM may not have mounted.
  [ -d /sys/kernel/tracing/events/syscalls ] || mount -t tracefs nodev /sys/kernel/tracing \
    || { echo "[syscalls] no syscall tracepoints (tracefs)" >&2; exit 1; }
fi
# shellcheck source=bench/counts.sh
source "$(dirname "$0")/counts.sh"
named="recvfrom sendto read write readv writev recvmsg sendmsg epoll_wait epoll_pwait epoll_ctl
  poll futex getsockopt setsockopt brk mmap munmap mremap madvise sched_yield clock_nanosleep"
count() { # LIB SCENARIO SIZE N: "name calls" lines of one run
  if [ "${TRACER:-strace}" = perf ]; then
    local events=raw_syscalls:sys_enter
    for n in $named; do events+=,syscalls:sys_enter_$n; done
    perf stat -x, -o "$work/st" -e "$events" \
      "$bin/bench-client" "$1" "$2" "$3" "$4" "$scheme://127.0.0.1:$port/" >/dev/null 2>"$work/err" \
      || { echo "[syscalls] $1 $2 $3 failed: $(tail -n 3 "$work/err")" >&2; return 1; }
    # Lines: count,,event,... The named calls, and the rest as `other`.
    awk -F, '$3 ~ /^syscalls:sys_enter_/ {sub("syscalls:sys_enter_", "", $3); n[$3] = $1; sum += $1}
      $3 == "raw_syscalls:sys_enter" {all = $1}
      END {for (k in n) print k, n[k]; print "other", all - sum}' "$work/st" | sort -k1,1
    return
  fi
  strace -f -c -o "$work/st" "$bin/bench-client" "$1" "$2" "$3" "$4" "$scheme://127.0.0.1:$port/" \
    >/dev/null 2>"$work/err" \
    || { echo "[syscalls] $1 $2 $3 failed: $(tail -n 3 "$work/err")" >&2; return 1; }
  # Columns: % time, seconds, usecs/call, calls, [errors,] syscall.
  awk '$4 ~ /^[0-9]+$/ && $NF ~ /^[a-z_0-9]+$/ && $NF != "total" {print $NF, $4}' "$work/st" | sort -k1,1
}
for c in $cases; do
  IFS=: read -r sc size n1 n2 <<<"$c"
  for lib in ${libs//,/ }; do
    for rep in $(seq "${REPS:-1}"); do
      count "$lib" "$sc" "$size" "$n1" >"$work/a" && count "$lib" "$sc" "$size" "$n2" >"$work/b" || continue
      join -a1 -a2 -e0 -o 0,1.2,2.2 "$work/a" "$work/b" | while read -r name a b; do
        echo "$sc $size $lib $rep $name $a $b $n1 $n2"
      done >>"$work/table"
    done
  done
done
TABLE=$work/table LIBS=$libs python3 - <<'PY'
import os
from collections import defaultdict
libs = os.environ["LIBS"].split(",")
# (sc, size, lib) -> rep -> {name: calls per 1,000 messages}
runs = defaultdict(lambda: defaultdict(dict))
cases = []
for line in open(os.environ["TABLE"]):
    sc, size, lib, rep, name, a, b, n1, n2 = line.split()
    # Calls per 1,000 messages; a difference of a call or two is start-up.
    v = 1000 * (int(b) - int(a)) / (int(n2) - int(n1))
    runs[(sc, size, lib)][rep][name] = v if abs(int(b) - int(a)) > 2 else 0.0
    if (sc, size) not in cases:
        cases.append((sc, size))
# With REPS, the run whose total is the median of the totals (the lower
# middle one of an even count, as bench/instructions.sh) stands for all:
# its calls by name add up to the total shown.
per, spread = {}, {}
for key, reps in runs.items():
    totals = sorted((sum(c.values()), rep) for rep, c in reps.items())
    _, rep = totals[(len(totals) - 1) // 2]
    per[key] = {n: v for n, v in reps[rep].items() if v}
    spread[key] = (totals[0][0], totals[-1][0])
ours = [l for l in libs if l.startswith("lomond")]
peers = [l for l in libs if not l.startswith("lomond") and not l.startswith("floor")]
print("| scenario | size | " + " | ".join(libs) + " | " + " / ".join(ours) + " vs fewest peer |")
print("|---|---:|" + "---:|" * len(libs) + "---:|")
for sc, size in cases:
    tot = {l: sum(per[(sc, size, l)].values()) for l in libs if (sc, size, l) in per}
    best = min((tot[l] for l in peers if l in tot), default=None)
    ratio = " / ".join(f"{tot[l] / best:.2f}" if best and l in tot else "-" for l in ours)
    print(f"| {sc} | {size} | " + " | ".join(f"{tot[l]:,.1f}" if l in tot else "-" for l in libs) + f" | {ratio} |")
if int(os.environ.get("REPS", "1")) > 1:
    print()
    print("Range of the totals over the repetitions:")
    print()
    for sc, size in cases:
        print(f"- {sc} {size}: " + ", ".join(
            f"{l} {spread[(sc, size, l)][0]:,.1f}-{spread[(sc, size, l)][1]:,.1f}"
            for l in libs if (sc, size, l) in spread))
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
