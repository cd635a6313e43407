#!/usr/bin/env bash
# Fuzzes every target in fuzz/ for SECONDS each (default 45) and fails on
# any crash, leaving the input in fuzz/artifacts/TARGET/. Each run starts
# from the target's committed seeds in fuzz/seeds/ (where it has some). Installs
# cargo-fuzz if needed. Runs on the stable toolchain, without a sanitizer
# (-s none): Rust's own checks (bounds, overflow, our asserts) still trap.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
seconds=${1:-45}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame_header handshake_response deflate_negotiation inflate client_core
  proxy_connect_answer socks5_reply proxy_env retry_after)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked -q
cargo fuzz build -s none -O >/dev/null
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  # Committed seeds (fuzz/seeds/TARGET), so that short runs start deep.
  [ -d "seeds/$t" ] && cp -n seeds/"$t"/* "corpus/$t/"
  log=$(mktemp)
  if ! cargo fuzz run -s none -O "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz $t: crashed, input in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  echo "fuzz $t: $(grep -E '^Done' "$log")"
  rm -f "$log"
done
