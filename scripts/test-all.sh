#!/usr/bin/env bash
# Every check and test of the project, as CI runs it:
#   formatting, clippy and rustdoc (warnings are errors), the package
#   (MSRV against the dependencies, cargo publish --dry-run), unit, integration
#   and property tests (the lomond command's among them: lomond-cli/tests),
#   interoperability with Python websockets and Node ws (compression on), wss:// against
#   nginx (certificates made for the run), ws and wss through tinyproxy
#   and squid (HTTP CONNECT, plain and https://) and microsocks (SOCKS5),
#   persist against the fault proxy (lomond-testkit) on both drivers and
#   against real kernel faults in network namespaces (scripts/netlab.sh,
#   as root), the tracing feature, 30 s of fuzzing per fuzz target (from its seeds),
#   the full Autobahn|Testsuite conformance run (517 cases) of both clients,
#   and its cases 1 to 10 again over wss:// through nginx.
# Installs what it needs (the Autobahn suite and Python websockets, from
# Debian's archive and PyPI: scripts/autobahn/install.sh; Node's ws from npm:
# scripts/interop.sh; nginx from
# Debian's packages: scripts/tls/nginx.sh; tinyproxy and microsocks:
# scripts/proxy.sh; iptables: scripts/netlab.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check
else
  echo "[test-all] rustfmt not installed: format check skipped" >&2
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --all-targets -- -D warnings
  # The blocking client alone, as users without tokio build it.
  cargo clippy -p lomond --no-default-features -- -D warnings
  cargo clippy -p lomond --features tracing --all-targets -- -D warnings
else
  echo "[test-all] clippy not installed: lint skipped" >&2
fi
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p lomond -p lomond-testkit
# The MSRV against the dependencies, and cargo publish --dry-run.
bash scripts/package.sh
cargo test
# The tracing feature's spans and events (a global subscriber: own binary).
cargo test -p lomond --features tracing --test tracing
bash scripts/interop.sh
bash scripts/tls.sh
bash scripts/proxy.sh
bash scripts/netlab.sh
bash scripts/fuzz.sh 30
bash scripts/autobahn.sh
AUTOBAHN_WSS=1 bash scripts/autobahn.sh '["1.*","2.*","3.*","4.*","5.*","6.*","7.*","9.*","10.*"]'
