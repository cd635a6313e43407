#!/usr/bin/env bash
# Proxies as users meet them: tinyproxy for HTTP CONNECT (open, and with
# Basic auth), microsocks for SOCKS5 (open, and with a password), and
# squid for HTTP CONNECT plain and as an https:// proxy (open, and with
# Basic auth, its certificate from a CA made now), from Debian's packages
# (installed when missing), on loopback. Then lomond/tests/proxies.rs runs
# both drivers through each, ws and wss, and examples/proxy.rs takes its
# proxy from http_proxy as curl would.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
missing=()
command -v tinyproxy >/dev/null || missing+=(tinyproxy)
command -v microsocks >/dev/null || missing+=(microsocks)
# squid-openssl: Debian's plain squid has no TLS ports.
squid -v 2>/dev/null | grep -q -- --with-openssl || missing+=(squid-openssl)
if [ ${#missing[@]} -gt 0 ]; then
  mkdir -p target
  echo "[proxy] installing ${missing[*]} (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$root/target/proxy-install.log" 2>&1 \
    || { echo "[proxy] could not install ${missing[*]}: see target/proxy-install.log" >&2; exit 1; }
fi
source scripts/tls/nginx.sh   # for wait_port
work=$root/target/proxy
rm -rf "$work"; mkdir -p "$work"
base=${PROXY_PORT:-9460}
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
tiny() {
  sed -e "s|@PORT@|$1|g" -e "s|@WORK@|$work|g" -e "s|@AUTH@|$2|" scripts/proxy/tinyproxy.conf >"$work/tinyproxy-$1.conf"
  tinyproxy -d -c "$work/tinyproxy-$1.conf" >"$work/tinyproxy-$1.out" 2>&1 &
  pids+=($!)
}
tiny $base ""
tiny $((base + 1)) "BasicAuth lomond s3cret"
microsocks -i 127.0.0.1 -p $((base + 2)) >"$work/microsocks-open.log" 2>&1 &
pids+=($!)
microsocks -i 127.0.0.1 -p $((base + 3)) -u lomond -P s3cret >"$work/microsocks-auth.log" 2>&1 &
pids+=($!)
# squid drops to the proxy user: its files must be readable by it.
tls_certs "$work/certs" >/dev/null
echo "lomond:$(openssl passwd -apr1 s3cret)" >"$work/squid.passwd"
sed -e "s|@PORT@|$((base + 4))|" -e "s|@TLSPORT@|$((base + 5))|" -e "s|@AUTHPORT@|$((base + 6))|" \
  -e "s|@WORK@|$work|g" scripts/proxy/squid.conf >"$work/squid.conf"
chown -R proxy "$work" 2>/dev/null || chmod -R a+rwX "$work"
squid -N -f "$work/squid.conf" >"$work/squid.out" 2>&1 &
pids+=($!)
for port in $base $((base + 1)) $((base + 2)) $((base + 3)) $((base + 4)) $((base + 5)) $((base + 6)); do
  wait_port $port || { tail -n 5 "$work"/*.log "$work"/*.out >&2 || true; echo "[proxy] a proxy did not start" >&2; exit 1; }
done
LOMOND_PROXY_PORT=$base LOMOND_PROXY_CA=$work/certs/ca.pem cargo test -q -p lomond --test proxies -- --ignored --test-threads 2 ${PROXY_TESTS:-}
# The environment, as curl reads it: http_proxy for ws://.
cargo build -q -p lomond --example proxy
out=$(http_proxy=http://127.0.0.1:$base "$root/target/debug/examples/proxy")
echo "$out" | grep -q "through http://127.0.0.1:$base" \
  || { echo "$out" >&2; echo "[proxy] http_proxy was not used" >&2; exit 1; }
out=$(http_proxy=http://127.0.0.1:$base no_proxy=127.0.0.1 "$root/target/debug/examples/proxy")
if echo "$out" | grep -q "(through "; then echo "$out" >&2; echo "[proxy] no_proxy was ignored" >&2; exit 1; fi
echo "[proxy] http_proxy and no_proxy from the environment: ok" >&2
out=$("$root/target/debug/examples/proxy" https://127.0.0.1:$((base + 5)) "$work/certs/ca.pem")
echo "$out" | grep -q "through https://127.0.0.1:$((base + 5))" \
  || { echo "$out" >&2; echo "[proxy] the https:// proxy was not used" >&2; exit 1; }
echo "[proxy] the example through squid as an https:// proxy: ok" >&2
# The lomond command, through the same proxies: --proxy (SOCKS5 with a
# password that must not be printed), http_proxy from the environment,
# and --no-proxy over it.
cargo build -q -p lomond-cli
lomond=$root/target/debug/lomond
serve_port=$((base + 7))
"$lomond" serve --port $serve_port >"$work/serve.out" 2>&1 &
pids+=($!)
wait_port $serve_port || { echo "[proxy] lomond serve did not start" >&2; exit 1; }
ws_url=ws://127.0.0.1:$serve_port/
check_cli() { # expected proxy (or null), then env and args
  local expected=$1
  shift
  local out
  out=$(env "$@" --json --once --send hi "$ws_url" </dev/null) \
    || { echo "$out" >&2; echo "[proxy] lomond $* failed" >&2; exit 1; }
  echo "$out" | grep -q "\"proxy\":$expected" \
    || { echo "$out" >&2; echo "[proxy] lomond $*: not through $expected" >&2; exit 1; }
  echo "$out" | grep -q '"event":"text","data":"hi"' \
    || { echo "$out" >&2; echo "[proxy] lomond $*: no echo" >&2; exit 1; }
  if echo "$out" | grep -q s3cret; then echo "[proxy] lomond printed the password" >&2; exit 1; fi
}
check_cli "\"socks5h://127.0.0.1:$((base + 3))\"" "$lomond" --proxy "socks5h://lomond:s3cret@127.0.0.1:$((base + 3))"
check_cli "\"http://127.0.0.1:$base\"" http_proxy=http://127.0.0.1:$base "$lomond"
check_cli null http_proxy=http://127.0.0.1:$base "$lomond" --no-proxy
echo "[proxy] the lomond command through SOCKS5, http_proxy and --no-proxy: ok" >&2
