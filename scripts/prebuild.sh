#!/usr/bin/env bash
# Builds the shipped binary: prebuildify drives node-gyp (binding.gyp) and writes
# prebuilds/<platform>-<arch>/torch-losses.glibc.node, plus libtorch.json, which records the
# libtorch it was linked against (the loader quotes it when the binary cannot be loaded).
# node-gyp runs in a staging copy, so it cannot wipe the cmake-js build in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Never download Node headers: use the ones installed with Node when present.
if [ -z "${npm_config_nodedir:-}" ]; then
  prefix=$(dirname "$(dirname "$(command -v node)")")
  [ -f "$prefix/include/node/node_api.h" ] && export npm_config_nodedir=$prefix
fi

stage=$(mktemp -d /tmp/torch-losses-prebuild.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp -r package.json binding.gyp native scripts "$stage/"
ln -s "$root/node_modules" "$stage/node_modules"

export JOBS=${JOBS:-max}  # node-gyp: compile the sources in parallel
start=$(date +%s)
node_modules/.bin/prebuildify --napi --strip --tag-libc --cwd "$stage" --out "$root"
dir="prebuilds/$(node -p 'process.platform + "-" + process.arch')"
node -e '
  const d = JSON.parse(require("child_process").execFileSync("node", ["scripts/find-libtorch.js", "--describe"]));
  require("fs").writeFileSync(process.argv[1], JSON.stringify({ version: d.version, libDir: d.libDir, cuda: d.cuda, route: d.route }, null, 2) + "\n");
' "$dir/libtorch.json"
echo "[prebuild] $(ls "$dir"/*.node) ($(du -k "$dir"/*.node | cut -f1) KiB) in $(( $(date +%s) - start )) s" >&2
