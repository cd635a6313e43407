#!/usr/bin/env bash
# Reproducible, Docker-free install of Autobahn|Testsuite (wstest) 25.10.1 on
# Debian bookworm, using only package registries:
#   * CPython 2.7.18 from Debian bullseye .debs: the copies in $AB_DEB_CACHE if
#     it has them all (scripts/autobahn.sh points it at ../shared/autobahn/debs
#     when that exists, outside CI), else fetched from the system's own Debian
#     mirror into DIR/debs with a private apt config; /etc/apt is NOT touched,
#     nothing is dpkg-installed -- the debs are only unpacked with dpkg-deb -x,
#   * the suite's pinned Python 2.7 dependency set from PyPI (pip 20.3.4),
#   * a Python 3 venv with websockets / websocket-client for drivers.
#
# Usage:  bash setup.sh DIR
#   env AB_DEB_CACHE=/some/dir  : where the 9 bullseye .debs are (default: DIR/debs)
#   env AB_DEBIAN_URI=...       : mirror URI (default: the first URIs: line of the system's debian.sources)
# Result:
#   DIR/bin/wstest          wrapper (sets LD_LIBRARY_PATH), e.g.
#                           DIR/bin/wstest -m fuzzingserver -s DIR/spec/fuzzingserver.json -u 0
#   DIR/bin/python3         py3 with websockets + websocket-client (for drive_client.py)
#   DIR/spec/*.json         loopback specs for fuzzingserver / fuzzingclient
# Needs: python3 (>=3.8, with venv), apt-get, dpkg-deb, gcc (apt-get install gcc if absent).
# Writes only under DIR (apt lists, pip cache, virtualenv app-data are all kept in DIR).
set -euo pipefail

DIR=${1:?usage: setup.sh DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
URI=${AB_DEBIAN_URI:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
[ -n "$URI" ] || URI=$(awk '$1 == "deb" && $2 ~ /^http/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
PY3=${PYTHON3:-python3}
log() { echo "[setup] $*" >&2; }
need() { command -v "$1" >/dev/null || { log "ERROR: $1 is missing ($2)"; exit 1; }; }
need "$PY3" "Python 3.8 or newer, with venv"
need apt-get "Debian's apt, to fetch bullseye's python2.7 packages"
need dpkg-deb "Debian's dpkg, to unpack them"
"$PY3" -c 'import venv, ensurepip' 2>/dev/null \
  || { log "ERROR: $PY3 has no venv/ensurepip (apt-get install python3-venv)"; exit 1; }

export PIP_CACHE_DIR="$DIR/.cache/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export XDG_DATA_HOME="$DIR/.cache/xdg"   # virtualenv app-data (else ~/.local/share/virtualenv)
export XDG_CACHE_HOME="$DIR/.cache/xdg-cache"

if ! command -v gcc >/dev/null; then
  log "gcc missing: installing from bookworm (needed to build Twisted/wsaccel C extensions)"
  apt-get install -y --no-install-recommends gcc libc6-dev
fi

# ---------------------------------------------------------------- 1. CPython 2.7 debs
DEBS="python2.7 python2.7-minimal libpython2.7-stdlib libpython2.7-minimal libpython2.7 \
      libpython2.7-dev python2.7-dev libssl1.1 libffi7"
have_all() { for p in $DEBS; do ls "$1"/${p}_*.deb >/dev/null 2>&1 || return 1; done; }
DEBDIR=${AB_DEB_CACHE:-$DIR/debs}
have_all "$DEBDIR" || DEBDIR=$DIR/debs
mkdir -p "$DEBDIR"
if ! have_all "$DEBDIR"; then
  [ -n "$URI" ] || { log "ERROR: no Debian mirror found in /etc/apt (set AB_DEBIAN_URI)"; exit 1; }
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] \
    || { log "ERROR: /usr/share/keyrings/debian-archive-keyring.gpg is missing (apt-get install debian-archive-keyring)"; exit 1; }
  log "fetching bullseye python2.7 debs from $URI"
  A="$DIR/apt"; mkdir -p "$A/parts" "$A/lists/partial" "$A/cache/archives/partial"
  cat > "$A/parts/bullseye.sources" <<EOF
Types: deb
URIs: $URI
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  APT_OPTS=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$A/parts"
            -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache"
            -o APT::Sandbox::User=root)
  apt-get "${APT_OPTS[@]}" update -qq || { log "ERROR: cannot read bullseye from $URI"; exit 1; }
  ( cd "$DEBDIR" && apt-get "${APT_OPTS[@]}" download $DEBS ) \
    || { log "ERROR: bullseye's python2.7 packages could not be downloaded from $URI"; exit 1; }
fi
ROOT="$DIR/py27root"
rm -rf "$ROOT"; mkdir -p "$ROOT"
for p in $DEBS; do dpkg-deb -x "$(ls "$DEBDIR"/${p}_*.deb | tail -1)" "$ROOT"; done
export LD_LIBRARY_PATH="$ROOT/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$ROOT/usr/bin/python2.7" -c 'import ssl, ctypes, zlib, bz2, sqlite3, hashlib' \
  || { log "ERROR: unpacked python2.7 does not run"; exit 1; }

# ---------------------------------------------------------------- 2. py3 tools venv
log "creating py3 tools venv"
"$PY3" -m venv "$DIR/py3"
"$DIR/py3/bin/pip" install -q 'virtualenv<20.22' websockets websocket-client

# ---------------------------------------------------------------- 3. py2.7 venv + deps
log "creating py2.7 virtualenv (pip 20.3.4 / setuptools 44 seeded by virtualenv 20.21)"
rm -rf "$DIR/py27"
"$DIR/py3/bin/virtualenv" -q --no-periodic-update -p "$ROOT/usr/bin/python2.7" "$DIR/py27"
export CFLAGS="-I$ROOT/usr/include/python2.7 -I$ROOT/usr/include"
cat > "$DIR/py27-constraints.txt" <<'EOF'
attrs==21.4.0
autobahn==0.10.9
autobahntestsuite==25.10.1
Automat==22.10.0
cffi==1.15.1
constantly==15.1.0
cryptography==3.3.2
enum34==1.1.10
hyperlink==21.0.0
idna==2.10
incremental==16.10.1
ipaddress==1.0.23
Jinja2==2.11.3
klein==17.10.0
linecache2==1.0.0
MarkupSafe==1.1.1
pyasn1==0.5.1
pyasn1-modules==0.3.0
pycparser==2.21
PyHamcrest==1.10.1
pyOpenSSL==19.1.0
service-identity==18.1.0
six==1.16.0
traceback2==1.4.0
Twisted==19.10.0
txaio==2.1.0
typing==3.10.0.0
ujson==2.0.3
unittest2==1.1.0
Werkzeug==1.0.1
wsaccel==0.6.6
zope.interface==4.6.0
EOF
quiet() { "$@" 2>&1 | { grep -v -e DEPRECATION -e 'Python 2.7 reached' || true; }; }   # keeps "$@"'s exit status (pipefail)
P2=("$DIR/py27/bin/python" -m pip install -q -c "$DIR/py27-constraints.txt")
log "installing pinned py2.7 deps from PyPI"
quiet "$DIR/py27/bin/python" -m pip install -q 'setuptools==44.0.0' 'wheel==0.36.2'
# order as in upstream docker/Dockerfile: incremental before Twisted, Twisted w/o build isolation
quiet "${P2[@]}" incremental
quiet "${P2[@]}" pyOpenSSL cryptography
quiet "${P2[@]}" --no-build-isolation Twisted
quiet "${P2[@]}" txaio zope.interface Jinja2 MarkupSafe Werkzeug klein service-identity unittest2 six \
  'autobahn[twisted,accelerate]'
quiet "${P2[@]}" --no-deps autobahntestsuite
"$DIR/py27/bin/python" -m pip check

# ---------------------------------------------------------------- 4. loopback-only listen patch
SP="$DIR/py27/lib/python2.7/site-packages/autobahntestsuite"
"$DIR/py3/bin/python" - "$SP/fuzzing.py" <<'EOF'
import sys
p = sys.argv[1]; s = open(p).read()
I = "interface = os.environ.get('WSTEST_LISTEN', '127.0.0.1')"
if I not in s:
  for a, b in [("   listenWS(factory, sslContext)\n", "   listenWS(factory, sslContext, %s)\n" % I),
             ("reactor.listenSSL(webport, web, sslContext)\n", "reactor.listenSSL(webport, web, sslContext, %s)\n" % I),
             ("reactor.listenTCP(webport, web)\n", "reactor.listenTCP(webport, web, %s)\n" % I)]:
    assert a in s, a
    s = s.replace(a, b, 1)
open(p, "w").write(s)
EOF

# ---------------------------------------------------------------- 5. wrappers + specs
mkdir -p "$DIR/bin" "$DIR/spec"
cat > "$DIR/bin/wstest" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$ROOT/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$DIR/py27/bin/wstest" "\$@"
EOF
chmod +x "$DIR/bin/wstest"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$DIR/py3/bin/python3" > "$DIR/bin/python3"; chmod +x "$DIR/bin/python3"
cat > "$DIR/spec/fuzzingserver.json" <<'EOF'
{
  "url": "ws://127.0.0.1:9001",
  "outdir": "./reports/clients",
  "cases": ["*"],
  "exclude-cases": [],
  "exclude-agent-cases": {}
}
EOF
cat > "$DIR/spec/fuzzingclient.json" <<'EOF'
{
  "outdir": "./reports/servers",
  "servers": [{"agent": "server-under-test", "url": "ws://127.0.0.1:9002"}],
  "cases": ["*"],
  "exclude-cases": [],
  "exclude-agent-cases": {}
}
EOF
"$DIR/bin/wstest" -a
log "done: $DIR/bin/wstest  (py3 driver interpreter: $DIR/bin/python3)"
