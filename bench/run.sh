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
LOMOND_PY=$py target/release/bench-run "$@"
