#!/usr/bin/env bash
# Configures and builds into a folder (default build/). Extra arguments go to
# cmake, e.g. scripts/build.sh build-asan -DES_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" -- --no-print-directory
