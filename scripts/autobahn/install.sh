#!/usr/bin/env bash
# Makes sure the Autobahn|Testsuite and the Python test tools are installed
# in ENV_DIR (default target/autobahn-env), running setup.sh beside this
# script if not; used by scripts/autobahn.sh and scripts/interop.sh.
#
# Everything comes from package registries (Debian's archive and PyPI), so a
# fresh clone needs nothing beside it. Outside CI, the python2.7 packages in
# ../shared/autobahn/debs are used when that folder exists, which saves their
# download; CI always takes the path without ../shared, so that path stays
# proven.
# AB_DEB_CACHE names another folder of those packages.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
env_dir=${1:-$root/target/autobahn-env}
if [ -x "$env_dir/bin/wstest" ] && "$env_dir/py3/bin/python" -c 'import websockets' 2>/dev/null; then
  exit 0
fi
debs=${AB_DEB_CACHE:-}
if [ -z "$debs" ] && [ "${CI:-}" != true ] && [ -d "$root/../shared/autobahn/debs" ]; then
  debs=$root/../shared/autobahn/debs
fi
log=$root/target/autobahn-setup.log
mkdir -p "$root/target"
echo "[autobahn] installing the suite and the Python tools into $env_dir (log: $log)" >&2
if ! AB_DEB_CACHE=$debs bash "$here/setup.sh" "$env_dir" >"$log" 2>&1; then
  tail -30 "$log" >&2
  echo "[autobahn] could not install the suite: the cause is in the lines above" >&2
  exit 1
fi
