#!/usr/bin/env bash
# What publishing lomond on crates.io needs, checked:
# 1. the MSRV: the workspace's rust-version is no lower than the highest
#    rust-version any dependency of lomond declares (every feature on,
#    Linux), and clippy's incompatible_msrv lint (part of the lint step of
#    scripts/test-all.sh) finds no std API newer than it in our code. This
#    machine has one toolchain and can fetch no other, so the crate is not
#    compiled with that exact release here: this checks what can be.
# 2. `cargo publish --dry-run -p lomond`: the crate packaged from its own
#    files builds on its own, and cargo has no warning about the package.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p target

cargo metadata --format-version 1 -q --all-features --filter-platform x86_64-unknown-linux-gnu \
  >target/package-metadata.json
python3 - target/package-metadata.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
packages = {p["id"]: p for p in m["packages"]}
nodes = {n["id"]: n for n in m["resolve"]["nodes"]}
root = next(p for p in m["packages"] if p["name"] == "lomond")
def version(v):
    return tuple(int(x) for x in (v or "0").split("."))
stated = root.get("rust_version")
if not stated:
    sys.exit("[package] lomond states no rust-version")
seen, stack = set(), [root["id"]]
while stack:
    node = stack.pop()
    if node in seen:
        continue
    seen.add(node)
    for dep in nodes[node]["deps"]:
        if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]):
            stack.append(dep["pkg"])
seen.discard(root["id"])
highest = max(seen, key=lambda i: version(packages[i].get("rust_version")))
need = packages[highest].get("rust_version") or "0"
print(f"[package] MSRV {stated}; {len(seen)} dependencies, the most demanding "
      f"{packages[highest]['name']} {packages[highest]['version']} (rust {need})")
if version(need) > version(stated):
    sys.exit(f"[package] {packages[highest]['name']} needs rust {need}, above the stated {stated}")
PY

cargo publish --dry-run -p lomond --allow-dirty 2>&1 | tee target/package.log | grep -E "^(warning|error)" | grep -v "aborting upload due to dry run" && {
  echo "[package] cargo publish --dry-run printed the above: see target/package.log" >&2
  exit 1
}
grep -q "aborting upload due to dry run" target/package.log \
  || { echo "[package] cargo publish --dry-run failed: see target/package.log" >&2; exit 1; }
echo "[package] cargo publish --dry-run -p lomond: ok"
