#!/usr/bin/env bash
# Compile time and peak compiler memory of the README's example program, the number a learner
# feels on every edit: with #include <bilin/core.hpp> (the light module header), with
# <bilin/bilin.hpp> (everything), and the same program written against <Eigen/Dense>
# (bench/compile_time_eigen.cpp) as the peer. Each compile is `g++ -std=c++20 -O2 -march=native
# -fopenmp -c`, timed by /usr/bin/time (wall seconds, peak RSS of the compiler); the contenders run
# interleaved, RUNS rounds, and the median of each is reported, so load from other processes
# hits all of them alike.
#
# Usage: bench/compile_time.sh [--runs N] [--include DIR] [--cxx COMPILER]
#   --include DIR  measure the bilin headers under DIR (default: this checkout's include/), e.g.
#                  another checkout's, to compare before and after a change; a variant whose
#                  header DIR lacks (bilin/core.hpp before it existed) is skipped.
# Prints one line per compile on stderr and one JSON line on stdout:
#   {"runs":N,"flags":"...","core":{"wall_s":..,"rss_mb":..},"bilin":{..},"eigen":{..}}
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=3 inc="$root/include" cxx=${CXX:-g++}
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --include) inc=$(cd "$2" && pwd); shift 2 ;;
    --cxx) cxx=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compile_time.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -x /usr/bin/time ] || { echo "compile_time.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The README's first ```cpp block, as tests/readme.cmake and tests/check_headers.sh take it.
awk '/^```cpp$/ {on = 1; next} on && /^```$/ {exit} on' "$root/README.md" > "$tmp/readme.cpp"
grep -qE '#include <bilin/(bilin|core)\.hpp>' "$tmp/readme.cpp" ||
  { echo "compile_time.sh: README example includes neither <bilin/core.hpp> nor <bilin/bilin.hpp>" >&2; exit 1; }
for v in core bilin; do sed -E "s#<bilin/(bilin|core)\.hpp>#<bilin/$v.hpp>#" "$tmp/readme.cpp" > "$tmp/$v.cpp"; done

flags="-std=c++20 -O2 -march=native -fopenmp"
variants=()
[ -f "$inc/bilin/core.hpp" ] && variants+=(core)
variants+=(bilin)
[ -f /usr/include/eigen3/Eigen/Dense ] && variants+=(eigen)

for ((r = 1; r <= runs; r++)); do
  for v in "${variants[@]}"; do
    case "$v" in
      eigen) src="$here/compile_time_eigen.cpp" extra="-I/usr/include/eigen3" ;;
      *) src="$tmp/$v.cpp" extra="-I$inc" ;;
    esac
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$cxx" $flags $extra -c "$src" -o "$tmp/$v.o"
    read -r wall kb < "$tmp/t"
    echo "$v $wall $kb" >> "$tmp/all"
    echo "compile_time: round $r/$runs $v ${wall} s, $((kb / 1024)) MiB" >&2
  done
done

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
json="{\"runs\":$runs,\"flags\":\"$flags\",\"compiler\":\"$("$cxx" -dumpfullversion)\""
for v in "${variants[@]}"; do
  w=$(awk -v v="$v" '$1 == v {print $2}' "$tmp/all" | median)
  m=$(awk -v v="$v" '$1 == v {print $3 / 1024}' "$tmp/all" | median)
  json+=",\"$v\":{\"wall_s\":$w,\"rss_mb\":$(printf '%.0f' "$m")}"
done
echo "$json}"
