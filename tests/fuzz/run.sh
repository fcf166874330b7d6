#!/usr/bin/env bash
# tests/fuzz/run.sh — run every libFuzzer harness of build/fuzz/bilin_fuzz in turn, each on a
# copy of its committed corpus (the repository is never written), and print one line per harness:
# executions, coverage edges (cov), corpus size, crashes. Exit status 1 when any harness found
# a crash, a sanitizer report, a leak, a timeout or an allocation above the malloc limit (the
# reproducer is saved in WORK/<target>/artifacts/).
#   bash tests/fuzz/run.sh [--time SECONDS | --execs N] [--work DIR] [--bin PATH] [TARGET...]
# Defaults: --time 15 (the CI smoke run), work dir build/fuzz-work. The long acceptance run is
# run_long.sh (= this script with --execs 1000000 and a 30-minute cap per harness).
# Limits on every run: -rss_limit_mb=2048 and -malloc_limit_mb=512, so a parser that allocates
# what a hostile header claims is a finding even when the machine could afford it.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
time_s=15 execs=0 cap=0 work="$root/build/fuzz-work" bin="$root/build/fuzz/bilin_fuzz" targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) time_s=$2; shift 2 ;;
    --execs) execs=$2; shift 2 ;;
    --cap) cap=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ -x "$bin" ] || { echo "fuzz: $bin not built (bash tests/fuzz/build.sh)" >&2; exit 2; }
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(BILIN_FUZZ_LIST=1 "$bin")
mkdir -p "$work"
status=0
printf '%-13s %10s %8s %8s %7s %8s %s\n' target execs exec/s cov corpus seconds crashes
for t in "${targets[@]}"; do
  dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  seeds=()
  for d in corpus regressions; do [ -d "$root/tests/fuzz/$d/$t" ] && seeds+=("$root/tests/fuzz/$d/$t"); done
  dict=()
  [ -f "$root/tests/fuzz/dict/$t.dict" ] && dict=(-dict="$root/tests/fuzz/dict/$t.dict")
  if [ "$execs" -gt 0 ]; then
    budget=(-runs="$execs")
    [ "$cap" -gt 0 ] && budget+=(-max_total_time="$cap")
  else
    # a fixed seed: the short CI run mutates the same way every time, so a red run is reproducible
    budget=(-max_total_time="$time_s" -seed="${BILIN_FUZZ_SEED:-1}")
  fi
  start=$(date +%s)
  BILIN_FUZZ_TARGET=$t "$bin" "${budget[@]}" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=25 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "${dict[@]}" "$dir/corpus" "${seeds[@]}" \
    >"$dir/log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  ran=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | cut -d' ' -f2)
  corp=$(find "$dir/corpus" -type f | wc -l)
  crashes=$(find "$dir/artifacts" -type f | wc -l)
  printf '%-13s %10s %8s %8s %7s %8s %s\n' "$t" "${ran:-?}" "${rate:-?}" "${cov:-?}" "$corp" "$secs" "$crashes"
  if [ $rc -ne 0 ] || [ "$crashes" -gt 0 ]; then
    status=1
    echo "fuzz: $t failed (exit $rc); log $dir/log, reproducers in $dir/artifacts/:" >&2
    grep -E 'ERROR|runtime error|contract broken|exception|SUMMARY|malloc\(|out-of-memory' "$dir/log" | head -5 >&2
  fi
done
exit $status
