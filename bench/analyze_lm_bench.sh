#!/usr/bin/env bash
# analyze_lm_bench.sh — time analyze_lm on one layer of a language model (issue 17 A budgets: the
# whole one-layer analysis of all output features, and the eigendecompositions of all Q(e_a)).
#
#   bench/analyze_lm_bench.sh BUILD_DIR LM.safetensors SAE_DIR [LAYER] [REPEATS]
#
# SAE_DIR holds <layer>-mlp_out/ and <layer>-mlp_in/ (train_sae --all-layers). Runs, interleaved,
# REPEATS times each: `analyze_lm --time-repeats 3` (forming the Q's and solving them in float and
# in double, medians of 3) and the full analysis with the input SAE (report written to a temporary
# folder). Prints one JSON line with the medians over the repeats and every single figure. Other
# jobs on the machine change the figures: compare numbers from one run.
set -euo pipefail
build=${1:?usage: analyze_lm_bench.sh BUILD_DIR LM SAE_DIR [LAYER] [REPEATS]}
lm=${2:?LM checkpoint}
sae=${3:?SAE folder}
layer=${4:-2}
repeats=${5:-3}
prog=$build/examples/analyze_lm
data=${BILIN_DATA_DIR:-$(dirname "$0")/../../shared/data}/tinystories
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq 1 "$repeats"); do
  "$prog" --ckpt "$lm" --sae-out "$sae" --layer "$layer" --data "$data" --time-repeats 3 --out "$tmp/t" 2> /dev/null | tail -n 1 > "$tmp/time$r.json"
  "$prog" --ckpt "$lm" --sae-out "$sae" --sae-in "$sae" --layer "$layer" --data "$data" --out "$tmp/full$r" 2> /dev/null | tail -n 1 > "$tmp/full$r.json"
  echo "analyze_lm_bench: repeat $r/$repeats done" >&2
done
python3 - "$tmp" "$repeats" "$(nproc)" "$(cat /proc/loadavg | cut -d' ' -f1-3)" <<'PY'
import json, statistics, sys
tmp, n = sys.argv[1], int(sys.argv[2])
t = [json.load(open(f"{tmp}/time{r}.json")) for r in range(1, n + 1)]
f = [json.load(open(f"{tmp}/full{r}.json")) for r in range(1, n + 1)]
med = lambda xs: statistics.median(xs)
out = {
    "layer": t[0]["layer"], "matrices": t[0]["matrices"], "d": t[0]["d"], "threads": t[0]["threads"],
    "form_seconds_median": med(x["form_seconds_median"] for x in t),
    "eigh_float_seconds_median": med(x["eigh_float_seconds_median"] for x in t),
    "eigh_double_seconds_median": med(x["eigh_double_seconds_median"] for x in t),
    "layer_analysis_seconds_median": med(x["layer_seconds"] for x in f),
    "program_seconds_median": med(x["seconds"] for x in f),
    "layer_analysis_seconds": [x["layer_seconds"] for x in f],
    "eigh_float_seconds": [x["eigh_float_seconds_median"] for x in t],
    "nproc": int(sys.argv[3]), "loadavg_at_end": sys.argv[4],
}
print(json.dumps(out))
PY
