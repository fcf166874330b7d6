#!/usr/bin/env bash
# official_ts_medium.sh — analyze_lm on a random model of the published ts-medium's shape, in the
# official layout (issue 18's budget: one layer's output features in at most 5 minutes on 2 cores).
#
#   bench/official_ts_medium.sh BUILD_DIR [REPEATS]
#
# tests/official_lm_torch.py makes the folder: 6 layers, d_model 512, d_hidden 2048, 8 heads,
# n_vocab 4096, n_ctx 256, "scale_attn": false, a 4096-token tokenizer.json, and two official
# SAE folders at layer 4 (mlp_out and resid_mid, ×4 = 2048 features, k 30), plus 1200 short
# stories. Then, REPEATS times: analyze_lm --layer 4 with the output SAE only, and with the input
# SAE too (the latent basis), each timed from start to exit (loading the folder, tokenizing,
# harvesting, every analysis, the report). Prints one JSON line with the wall times (median and
# all), analyze_lm's own figures and the load average. Other jobs on the machine change the
# times: compare figures from one run.
set -euo pipefail
build=${1:?usage: official_ts_medium.sh BUILD_DIR [REPEATS]}
repeats=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
prog=$build/examples/analyze_lm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/../tests/official_lm_torch.py" make "$tmp/w" 0 F32 ts-medium
for r in $(seq 1 "$repeats"); do
  for mode in out in; do
    extra=()
    [ "$mode" = in ] && extra=(--sae-in "$tmp/w/sae")
    t0=$(date +%s.%N)
    "$prog" --ckpt "$tmp/w/model" --sae-out "$tmp/w/sae" "${extra[@]}" --layer 4 --text "$tmp/w/stories.txt" \
      --threads 2 --out "$tmp/$mode$r" 2> "$tmp/$mode$r.err" | tail -n 1 > "$tmp/$mode$r.json"
    t1=$(date +%s.%N)
    echo "$t0 $t1" > "$tmp/$mode$r.time"
    echo "official_ts_medium: repeat $r/$repeats, $mode: $(echo "$t1 - $t0" | bc) s" >&2
  done
done
/usr/bin/python3 - "$tmp" "$repeats" "$(cat /proc/loadavg | cut -d' ' -f1-3)" <<'PY'
import json, statistics, sys
tmp, n, load = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = {"shape": "ts-medium (6 layers, d 512, h 2048, vocab 4096, SAEs 2048 features k 30)", "layer": 4,
       "repeats": n, "loadavg": load}
for mode in ("out", "in"):
    walls = []
    for r in range(1, n + 1):
        t0, t1 = map(float, open(f"{tmp}/{mode}{r}.time").read().split())
        walls.append(t1 - t0)
        j = json.load(open(f"{tmp}/{mode}{r}.json"))
    key = "output_sae_only" if mode == "out" else "with_input_sae"
    out[key] = {"wall_s_median": statistics.median(walls), "wall_s": walls, "features_analysed": j["features_analysed"],
                "positions": j["positions"], "analyze_lm_seconds": j["seconds"],
                "exactness_max_rel_err": j["exactness_max_rel_err"], "corr_k_d": j["corr_mean"]["d"]}
print(json.dumps(out))
PY
