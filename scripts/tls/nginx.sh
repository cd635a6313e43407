# Sourced by scripts/tls.sh and scripts/autobahn.sh: makes the run's
# certificates and starts nginx from a template, failing loudly when it
# cannot (nginx is installed from Debian's packages when missing).
#   tls_certs DIR                  certificates (lomond-testkit certs)
#   start_nginx TEMPLATE WORK SED  nginx with TEMPLATE's @...@ filled by SED
#   wait_port PORT                 until something listens on PORT
#   stop_nginx                     (also run on exit)
nginx_pid=""
tls_certs() {
  if ! command -v nginx >/dev/null; then
    echo "[tls] installing nginx (apt-get install nginx-light)" >&2
    mkdir -p "$root/target"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >"$root/target/nginx-install.log" 2>&1 \
      || { echo "[tls] nginx could not be installed: see target/nginx-install.log" >&2; exit 1; }
  fi
  cargo build -q -p lomond-testkit --bin lomond-testkit
  "$root/target/debug/lomond-testkit" certs "$1"
}
start_nginx() {
  local template=$1 work=$2 script=$3
  mkdir -p "$work/logs"
  sed -e "s|@WORK@|$work|g" -e "$script" "$template" >"$work/nginx.conf"
  nginx -p "$work" -c "$work/nginx.conf" -t 2>"$work/nginx-check.log" \
    || { cat "$work/nginx-check.log" >&2; echo "[tls] nginx refused its config" >&2; exit 1; }
  nginx -p "$work" -c "$work/nginx.conf" 2>"$work/logs/stderr.log" &
  nginx_pid=$!
}
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
    sleep 0.1
  done
  echo "[tls] nothing listens on port $1" >&2
  return 1
}
stop_nginx() { [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true; }
