#!/usr/bin/env bash
# wss:// against a real TLS terminator: nginx (installed from Debian's
# packages when missing) in front of lomond's echo server, with a CA and
# certificates made for this run (lomond-testkit certs). One nginx serves
# five ports: a valid certificate, an expired one, one for another host,
# one from an unknown CA, and one demanding a client certificate. Then
# lomond/tests/nginx.rs runs against them, both drivers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/tls/nginx.sh
work=$root/target/tls
rm -rf "$work"; mkdir -p "$work"
tls_certs "$work/certs"
base=${TLS_PORT:-9440}
echo_port=$((base + 9))
"$root/target/debug/lomond-testkit" echo "$echo_port" 2>"$work/echo.log" &
echo_pid=$!
trap 'kill $echo_pid 2>/dev/null || true; stop_nginx' EXIT
start_nginx scripts/tls/nginx.conf "$work" "s|@CERTS@|$work/certs|g; s|@ECHO@|$echo_port|g; \
s|@BASE@|$base|g; s|@P1@|$((base + 1))|g; s|@P2@|$((base + 2))|g; s|@P3@|$((base + 3))|g; s|@P4@|$((base + 4))|g"
for port in $base $((base + 4)) $echo_port; do wait_port $port; done
LOMOND_NGINX_PORT=$base LOMOND_TLS_CERTS=$work/certs \
  cargo test -q -p lomond --test nginx -- --ignored --test-threads 2
