#!/usr/bin/env bash
# Runs the benchmarks: builds the harness, installs the original Python
# Lomond (from PyPI, into target/bench-py) as the baseline, runs bench-run.
# Writes docs/bench.md and docs/bench.svg. Takes a few minutes; pass
# --quick for a smoke run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=$root/target/bench-py/bin/python
if [ ! -x "$py" ] || ! "$py" -c 'import lomond' 2>/dev/null; then
  python3 -m venv "$root/target/bench-py"
  "$py" -m pip install -q lomond
fi
cargo build -q --release -p lomond-bench
# Separately: ratchet needs flate2's C zlib, which would otherwise replace
# zlib-rs under lomond and yawc in the same build.
cargo build -q --release -p lomond-bench-ratchet
LOMOND_PY=$py target/release/bench-run "$@"
