#!/usr/bin/env bash
# Compiles every native/src/*.cc for ARM64 (aarch64-linux-gnu-g++) into object files, so that the addon stays
# portable: x86-only code must sit behind guards with a portable fallback. Objects only: there is no ARM64
# OpenBLAS or node here to link against (the BLAS and N-API headers declare the same functions on every
# architecture). CI runs it; install the compiler with: apt-get install -y g++-aarch64-linux-gnu
set -euo pipefail
cd "$(dirname "$0")/.."
cxx=${LAUREL_CXX_AARCH64:-aarch64-linux-gnu-g++}
if ! command -v "$cxx" >/dev/null; then
  echo "cross-compile: $cxx not found; install it with: apt-get install -y g++-aarch64-linux-gnu" >&2
  exit 2
fi
node_inc=""
for d in "$(dirname "$(command -v node)")/../include/node" /usr/include/node /usr/local/include/node; do
  if [ -f "$d/node_api.h" ]; then node_inc=$d; break; fi
done
napi_inc=$(node -p "require('node-addon-api').include_dir")
blas_inc=""
for d in /usr/include/aarch64-linux-gnu/openblas-pthread /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas /usr/include; do
  if [ -f "$d/cblas.h" ]; then blas_inc=$d; break; fi
done
if [ -z "$node_inc" ] || [ -z "$blas_inc" ]; then
  echo "cross-compile: node headers (node_api.h) or cblas.h not found" >&2
  exit 2
fi
out=$(mktemp -d /tmp/laurel-aarch64.XXXXXX)
trap 'rm -rf "$out"' EXIT
readelf=${cxx%g++}readelf
pids=()
for src in native/src/*.cc; do  # in parallel: one compiler per source
  "$cxx" -std=c++17 -O1 -fPIC -Wall -c "$src" -o "$out/$(basename "$src" .cc).o" -I"$node_inc" -I"$napi_inc" \
    -I"$blas_inc" -DNAPI_VERSION=8 -DNAPI_DISABLE_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
n=0
for obj in "$out"/*.o; do
  if ! "$readelf" -h "$obj" | grep -q 'Machine:.*AArch64'; then
    echo "cross-compile: $(basename "$obj") is not an aarch64 object" >&2
    exit 1
  fi
  n=$((n + 1))
done
echo "cross-compile: $n objects for aarch64 from native/src/*.cc ($cxx $("$cxx" -dumpfullversion))"
