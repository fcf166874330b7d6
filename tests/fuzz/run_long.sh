#!/usr/bin/env bash
# tests/fuzz/run_long.sh — the acceptance run: every harness to 10^6 executions (or 30 minutes
# for a slow one), corpus merged into a work dir outside the repository. Run it niced on a
# shared machine:   nice -n 5 bash tests/fuzz/run_long.sh [--execs N] [--work DIR] [TARGET...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$here/../../build/fuzz/bilin_fuzz" ] || bash "$here/build.sh"
exec bash "$here/run.sh" --execs 1000000 --cap 1800 --work "$here/../../build/fuzz-long" "$@"
