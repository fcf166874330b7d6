#!/usr/bin/env bash
# Every public header compiles on its own, and so does the README's example, in the builds a
# learner makes: -O0 and -O2, with -march=native and without. The unity test build cannot show
# a missing include (a header earlier in the batch supplies it), and -O0 or a plain x86-64
# target take code paths the release build never compiles (g++ 12 defines some AVX-512
# intrinsics as macros below -O1; without -march xsimd falls back to SSE2).
#
# Each header goes through `g++ -fsyntax-only`, which parses it and instantiates what the header
# itself instantiates (enough to see the -O0 AVX-512BW defect core/simd.hpp avoids); the README
# example (its first ```cpp block, read the way tests/readme.cmake reads it, so the two cannot
# drift) is compiled to an object file. Jobs run on JOBS processes (default 2). Exits 1 listing
# every failing header and configuration.
# Usage: tests/check_headers.sh [--jobs N] [--cxx COMPILER]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=2 cxx=${CXX:-g++}
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) jobs=$2; shift 2 ;;
    --cxx) cxx=$2; shift 2 ;;
    *) echo "check_headers.sh: unknown argument '$1' (usage: [--jobs N] [--cxx COMPILER])" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```cpp$/ {on = 1; next} on && /^```$/ {exit} on' "$root/README.md" > "$tmp/example.cpp"
[ -s "$tmp/example.cpp" ] || { echo "check_headers.sh: README.md has no \`\`\`cpp block" >&2; exit 1; }
# the same program through the umbrella header, which compiles every header into one unit
sed -E 's#<bilin/[a-z]+\.hpp>#<bilin/bilin.hpp>#' "$tmp/example.cpp" > "$tmp/example_bilin.cpp"

# The example, as written and through bilin/bilin.hpp (so every header), in all four
# configurations; each header alone in two that between them cover both optimization levels
# and both targets (a missing include fails in any configuration; what differs by
# configuration, the examples see). Two configurations instead of four halve the step's time.
{
  for c in "-O0 -march=native" "-O0" "-O2 -march=native" "-O2"; do echo "$c|example"; echo "$c|example_bilin"; done
  for c in "-O0 -march=native" "-O2"; do
    (cd "$root/include" && find bilin -name '*.hpp' | sort) | sed "s#^#$c|#"
  done
} > "$tmp/jobs"

# One job: "FLAGS|HEADER" or "FLAGS|example[_bilin]"; prints nothing on success, the errors otherwise.
export root tmp cxx
one() {
  local flags=${1%%|*} what=${1#*|} log
  log=$(mktemp "$tmp/log.XXXXXX")
  # shellcheck disable=SC2086
  if [ "${what%%_*}" = example ]; then
    "$cxx" -std=c++20 $flags -fopenmp -I"$root/include" -c "$tmp/$what.cpp" -o "$log.o" > "$log" 2>&1
  else
    echo "#include <$what>" | "$cxx" -std=c++20 $flags -fopenmp -I"$root/include" -fsyntax-only -x c++ - > "$log" 2>&1
  fi || { echo "FAIL [$flags] $what"; grep -m 5 'error' "$log" | sed 's/^/    /'; }
}
export -f one
start=$(date +%s)
tr '\n' '\0' < "$tmp/jobs" | xargs -0 -P "$jobs" -I{} bash -c 'one "$1"' _ {} > "$tmp/out"
n=$(wc -l < "$tmp/jobs")
if [ -s "$tmp/out" ]; then
  cat "$tmp/out" >&2
  echo "check_headers: $(grep -c '^FAIL' "$tmp/out") of $n compiles failed" >&2
  exit 1
fi
echo "check_headers: $n compiles (README example, as written and with bilin/bilin.hpp, at -O0/-O2 with and without -march=native, each header alone at -O0 -march=native and -O2) passed in $(( $(date +%s) - start )) s"
