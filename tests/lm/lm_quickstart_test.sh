#!/usr/bin/env bash
# usage: lm_quickstart_test.sh SOURCE_DIR BUILD_DIR DATA_DIR WORK_DIR   (see tests/lm_quickstart.cmake)
# Runs examples/lm_quickstart.sh --quick from scratch and checks what it promises: a report with
# every analyze_lm section (the direct-path and HOSVD ones included) and a final JSON line.
set -euo pipefail
src=$1 build=$2 data=$3 work=$4
if [ ! -f "$data/TinyStories-valid-head.txt" ]; then echo "skip: no TinyStories data in $data"; exit 77; fi
rm -rf "$work"
fail() { echo "FAIL: $*"; exit 1; }
bash "$src/examples/lm_quickstart.sh" --quick --build "$build" --out "$work" --data "$data" > "$work.out" 2> "$work.err" ||
  { tail -n 30 "$work.err"; fail "lm_quickstart.sh --quick"; }
for step in "1/3 training the language model" "2/3 training the SAEs" "3/3 analyze_lm" "done: open"; do
  grep -q "$step" "$work.err" || fail "no progress message '$step'"
done
last=$(tail -n 1 "$work.out")
for key in exactness_max_rel_err corr_mean features_analysed direct_path hosvd spearman_mean singular_values report; do
  grep -q "\"$key\"" <<< "$last" || fail "final JSON line lacks $key: $last"
done
report="$work/report/report.html"
[ -s "$report" ] || fail "no report"
for heading in "Direct path of layer 0" "Direct path of layer 1" "HOSVD of layer 1" "Token interaction matrices"; do
  grep -q "$heading" "$report" || fail "report lacks '$heading'"
done
[ -s "$work/report/results.safetensors" ] || fail "no results.safetensors"
# A second run reuses the model and SAEs and only redoes the analysis.
bash "$src/examples/lm_quickstart.sh" --quick --build "$build" --out "$work" --data "$data" > /dev/null 2> "$work.err2" ||
  fail "second run"
grep -q "reusing the model" "$work.err2" && grep -q "reusing the SAEs" "$work.err2" || fail "second run retrained"
echo "lm_quickstart --quick: ok"
