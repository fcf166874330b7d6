#!/usr/bin/env bash
# tests/fuzz/build.sh — configure and build the libFuzzer binary (build/fuzz/bilin_fuzz) with
# Debian's clang 14, installing clang-14 / libclang-rt-14-dev / libomp-14-dev when missing.
#   bash tests/fuzz/build.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/fuzz}
bash examples/quickstart.sh --install clang-14 libclang-rt-14-dev libomp-14-dev
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S tests/fuzz -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 "${launcher[@]}" >/dev/null
cmake --build "$build" -j "${BILIN_FUZZ_JOBS:-2}"
