#!/usr/bin/env bash
# One set-up for every README command (npm test, npm run demo, ...): installs what is missing
# and builds what is stale, nothing more, so a second run takes a second.
#   1. Debian packages: libtorch-dev, an optimized OpenBLAS, python3-torch (parity), cmake, g++
#   2. npm dependencies (npm ci, without install scripts: the addon is built in step 3)
#   3. the native addon (cmake-js, into build/Release) when a source is newer than it
#   4. the TypeScript facade (tsc, into dist/) when a source is newer than it
# Flags: --deps-only (steps 1-2), --build-only (steps 3-4). Without root, step 1 prints the
# exact commands to run instead of running them.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
  --deps-only) mode=deps ;;
  --build-only) mode=build ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--deps-only | --build-only]" >&2; exit 2 ;;
esac

say() { echo "[setup] $*" >&2; }

# Debian packages this project needs. libopenblas0-pthread replaces Debian's reference BLAS,
# which is ~50x slower for the matrix products inside the losses.
DEBIAN_PACKAGES=(libtorch-dev libopenblas0-pthread python3-torch cmake g++ make)
# libgloo-dev: Gloo's headers, for the distributed support (dist.*) over libtorch's c10d.
DEBIAN_PACKAGES+=(libgloo-dev)

install_debian_packages() {
  command -v dpkg-query >/dev/null || { say "not a Debian system: install libtorch yourself (see README)"; return; }
  local missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]}. Run, then retry:"
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_npm_packages() {
  # node_modules/.package-lock.json is npm's record of the last install.
  if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
    return
  fi
  say "installing npm dependencies (npm ci)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
}

# True when $1 is missing or older than any file under the remaining paths.
stale() {
  local target=$1; shift
  [ ! -e "$target" ] && return 0
  [ -n "$(find "$@" -newer "$target" -type f -print -quit 2>/dev/null)" ]
}

build_native() {
  local addon=build/Release/torch_losses.node
  if stale "$addon" native CMakeLists.txt scripts/find-libtorch.js; then
    say "building the native addon (cmake-js; a few minutes on 2 cores the first time)"
    node_modules/.bin/cmake-js compile --out build --log-level error >&2
    touch "$addon"
  fi
}

build_typescript() {
  if stale dist/index.js lib tsconfig.json tsconfig.build.json; then
    say "compiling TypeScript (tsc)"
    node_modules/.bin/tsc -p tsconfig.build.json
  fi
}

if [ "$mode" != build ]; then
  install_debian_packages
  install_npm_packages
fi
if [ "$mode" != deps ]; then
  build_native
  build_typescript
fi
