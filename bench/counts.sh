# Sourced by bench/instructions.sh and bench/syscalls.sh, which count a
# client's work per message: reads their arguments ([ws|wss] [LIB,LIB..]),
# checks for the counting program ($needs, named by the script with its
# own $tool), starts a bench server on a free port, and sets $bin,
# $scheme, $libs, $port, $work (removed at exit) and $cases (CASES, or
# every scenario with its two message counts).
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/target/release
scheme=${1:-ws}
libs=${2:-}
command -v "$needs" >/dev/null || { echo "[$tool] $needs is missing: apt-get install $needs" >&2; exit 1; }
if [ -z "$libs" ]; then
  if [ "$scheme" = wss ]; then libs=lomond-blocking,lomond-tokio,tokio-websockets,tokio-tungstenite
  else libs=lomond-blocking,lomond-tokio,tungstenite,tokio-tungstenite,fastwebsockets,tokio-websockets,yawc; fi
fi
tls=(); [ "$scheme" = wss ] && tls=(--tls)
port=$((20000 + RANDOM % 20000))
"$bin/bench-server" 127.0.0.1:$port "${tls[@]}" >/dev/null 2>&1 &
srv=$!
work=$(mktemp -d)
trap 'kill $srv 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
cases=${CASES:-"recv:16:20000:40000 recv:1024:20000:40000 recv:65536:500:1000 send:16:20000:40000 send:1024:20000:40000 send:65536:500:1000 echo1:32:2000:4000 echo64:32:20000:40000"}
