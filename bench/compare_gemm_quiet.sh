#!/usr/bin/env bash
# bench/compare_gemm_quiet.sh — run compare_gemm when the machine is quiet.
#
# GEMM timings on a 2-core machine shared with compilers are meaningless: a busy second core
# halves the two-thread numbers and L3 contention moves the one-thread ones by ±5 %. This
# waits (up to MAX_WAIT seconds, default 900) until the 1-minute load average drops below
# MAX_LOAD (default 0.3), then runs compare_gemm with the given arguments and prints the load
# before and after, so a reader can tell whether the run was disturbed.
# Usage: bench/compare_gemm_quiet.sh BUILD_DIR/bench/compare_gemm [--json] [...]
set -euo pipefail
exe=${1:?usage: compare_gemm_quiet.sh path/to/compare_gemm [args...]}
shift
max_load=${MAX_LOAD:-0.3}
max_wait=${MAX_WAIT:-900}
waited=0
while awk -v l="$max_load" '{exit !($1 >= l)}' /proc/loadavg; do
  if ((waited >= max_wait)); then
    echo "compare_gemm_quiet: load still $(cut -d' ' -f1 /proc/loadavg) after ${waited}s; running anyway" >&2
    break
  fi
  sleep 10
  waited=$((waited + 10))
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$exe" "$@"
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
