#!/usr/bin/env bash
# usage: analyze_lm_e2e.sh TRAIN_TINYLM TRAIN_SAE ANALYZE_LM DATA_DIR WORK_DIR   (see tests/lm_analysis.cmake)
# End-to-end check of analyze_lm (issue 17 A) on a tiny LM and tiny SAEs trained here: the JSON
# summary and its acceptance figures that hold for any model (exactness, r = 1 at k = d), the
# report rendered in headless Chromium with every picture present (tests/report_screenshot.sh
# plus a count of the figures each section must have), the NumPy-readable export, --layer all,
# --sae-out-series, --time-repeats, and clear errors with nothing written for bad input: SAEs of
# another layer, another model or another width, a GLU checkpoint, an empty text.
set -euo pipefail
lmtrain=$1 sae=$2 analyze=$3 data=$4 work=$5
here=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$data/TinyStories-valid-head.txt" ]; then echo "skip: no TinyStories data in $data"; exit 77; fi
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
py=/usr/bin/python3  # Debian's, with numpy (a pyenv python3 on PATH may lack it)
[ -x "$py" ] || py=python3
lm=(--data "$data" --cache "$work/cache" --vocab 512 --layers 2 --d-model 32 --heads 2 --hidden 64 --ctx 32
    --batch 8 --eval-every 40 --eval-windows 4 --log-every 20 --threads 2)
"$lmtrain" "${lm[@]}" --steps 40 --seed 1 --out "$work/lm" > /dev/null 2> "$work/lm.err" || { cat "$work/lm.err"; fail "train_tinylm"; }
ck="$work/lm/ckpt.safetensors"
saeflags=(--data "$data" --cache "$work/cache" --expansion 4 --k 8 --steps 40 --batch 256 --buffer 1500 --reuse 2
          --eval-windows 4 --final-windows 16 --log-every 20 --threads 2 --top 5)
"$sae" --ckpt "$ck" "${saeflags[@]}" --all-layers --hook mlp_out,mlp_in,resid_mid --out "$work/sae" > /dev/null 2> "$work/sae.err" || { cat "$work/sae.err"; fail "train_sae"; }
"$sae" --ckpt "$ck" "${saeflags[@]}" --layer 1 --hook mlp_out --seed 5 --out "$work/sae_b" > /dev/null 2> "$work/sae_b.err" || { cat "$work/sae_b.err"; fail "train_sae b"; }
an=(--ckpt "$ck" --data "$data" --cache "$work/cache" --windows 24 --threads 2 --goe-pool 4 --top-features 2)

# one layer, with an input SAE and a Table 5 series
"$analyze" "${an[@]}" --sae-out "$work/sae" --sae-in "$work/sae" --layer 1 --out "$work/a" \
  --sae-out-series "1x=$work/sae/1-mlp_out,2x=$work/sae_b" > "$work/a.out" 2> "$work/a.err" || { cat "$work/a.err"; fail "analyze_lm"; }
last=$(tail -n 1 "$work/a.out")
for key in exactness_max_rel_err corr_mean corr_control_random_eig corr_control_goe frac_above_075_k2 \
           effective_rank_median goe_effective_rank features_analysed seconds report corr_k2_series; do
  grep -q "\"$key\"" <<< "$last" || fail "final JSON line lacks $key: $last"
done
"$py" - "$last" "$work/a" <<'PY' || fail "JSON figures"
import json, sys, os
j = json.loads(sys.argv[1])
assert j["exactness_max_rel_err"] <= 1e-4, j["exactness_max_rel_err"]
assert set(str(k) for k in range(1, 33)) <= set(j["corr_mean"]) and "d" in j["corr_mean"], j["corr_mean"].keys()
assert abs(j["corr_mean"]["d"] - 1) <= 1e-5 and j["corr_min_k_d"] >= 1 - 1e-5, j["corr_min_k_d"]
assert j["features_analysed"] > 0
assert set(j["corr_k2_series"]) == {"1x", "2x"}
assert os.path.samefile(j["report"], os.path.join(sys.argv[2], "report.html"))
PY
grep -q "ETA\|s\b" "$work/a.err" || true
for f in report.html results.safetensors results.json; do [ -f "$work/a/$f" ] || fail "no $f"; done
# the export reads in NumPy (safetensors by hand: 8-byte header length, JSON header, raw data)
"$py" - "$work/a/results.safetensors" "$work/a/results.json" <<'PY' || fail "export not readable"
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
def get(name):
    e = h[name]; a, b = e["data_offsets"]
    dt = {"F32": np.float32, "I64": np.int64}[e["dtype"]]
    return np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt).reshape(e["shape"])
ev = get("layer1.eigenvalues"); vec = get("layer1.top_eigenvectors"); curve = get("layer1.corr_curve")
assert ev.shape[1] == 32 and vec.shape[2] == 32 and curve.shape[0] == ev.shape[0]
assert np.all(np.abs(ev[:, :-1]) >= np.abs(ev[:, 1:]) - 1e-7)
assert np.allclose(np.linalg.norm(vec, axis=2), 1, atol=1e-4)
ok = ~np.isnan(curve[:, -1]); assert ok.any() and np.allclose(curve[ok, -1], 1, atol=1e-5)
assert any(k.startswith("layer1.circuit") for k in h)
s = json.load(open(sys.argv[2])); assert s["layers"][0]["layer"] == 1
PY
# every picture present: the screenshot check (no broken <img>) and the figures each part draws
bash "$here/report_screenshot.sh" "$work/a/report.html" "$work/a/report.png" 6000 > "$work/shot.out" 2>&1 || { rc=$?; cat "$work/shot.out"; [ $rc -eq 77 ] && exit 77; fail "report does not render"; }
"$py" - "$work/a/report.html" <<'PY' || fail "pictures missing"
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
svgs = html.count("<svg")
circuits = html.count("<h3>Output feature #")
# correlation curve + k=2 histogram + effective-rank histogram, and per circuit feature 4 plots + 1 labelled heatmap
assert circuits >= 1, "no circuit feature shown"
assert svgs >= 3 + 5 * circuits, (svgs, circuits)
assert html.count("input latent (row)") == circuits and html.count("Q_lat[i, j]</text>") == circuits, "heatmap axes/legend"
for t in ("Mean active-only correlation vs k", "Correlation at k = 2 per feature", "Effective rank",
          "Self vs cross interactions", "Eigenvalues vs random", "Rank-2 approximation", "Negation probe", "key numbers",
          "(Fig. 8B)"):
    assert t in html, t
PY

# an input SAE at resid_mid (the paper's code's choice): the latent identity holds in its own space
"$analyze" "${an[@]}" --sae-out "$work/sae" --sae-in "$work/sae/1-resid_mid" --layer 1 --out "$work/rm" > "$work/rm.out" 2> "$work/rm.err" || { cat "$work/rm.err"; fail "resid_mid input SAE"; }
"$py" -c 'import json,sys; j=json.loads(sys.argv[1]); assert 0 <= j["latent_identity_rel_err"] <= 1e-4, j' "$(tail -n 1 "$work/rm.out")" || fail "resid_mid latent identity"
grep -q "input SAE (resid_mid" "$work/rm/report.html" || fail "report does not name the resid_mid input SAE"

# all layers
"$analyze" "${an[@]}" --sae-out "$work/sae" --layer all --out "$work/all" > "$work/all.out" 2> "$work/all.err" || { cat "$work/all.err"; fail "--layer all"; }
grep -q '"layers":\[{"layer":0' "$work/all.out" || fail "--layer all summary lacks the layer list"
grep -q 'Layer 1: the MLP as interaction matrices' "$work/all/report.html" || fail "--layer all report lacks layer 1"

# timing mode
"$analyze" "${an[@]}" --sae-out "$work/sae" --layer 0 --time-repeats 2 --out "$work/t" > "$work/t.out" 2> "$work/t.err" || { cat "$work/t.err"; fail "--time-repeats"; }
grep -q '"eigh_float_seconds_median"' "$work/t.out" || fail "timing JSON"
[ ! -e "$work/t" ] || fail "timing mode wrote output"

# bad input: a clear error and nothing written
bad() {  # bad NAME EXPECTED-MESSAGE ARGS...
  local name=$1 expect=$2; shift 2
  if "$analyze" "$@" --out "$work/bad_$name" > /dev/null 2> "$work/bad_$name.err"; then fail "$name accepted"; fi
  grep -q -- "$expect" "$work/bad_$name.err" || fail "unclear $name error: $(cat "$work/bad_$name.err")"
  [ ! -e "$work/bad_$name" ] || fail "$name left output behind"
}
bad layer "was trained on layer 0, not on the analysed layer 1" "${an[@]}" --sae-out "$work/sae/0-mlp_out" --layer 1
bad hook "must read mlp_out" "${an[@]}" --sae-out "$work/sae/1-mlp_in" --layer 1
bad nolayer "layer 5 does not exist" "${an[@]}" --sae-out "$work/sae" --layer 5
"$lmtrain" "${lm[@]}" --steps 2 --seed 2 --out "$work/lm2" > /dev/null 2>&1 || fail "train_tinylm 2"
bad model "was trained on another model" "${an[@]/$ck/$work/lm2/ckpt.safetensors}" --sae-out "$work/sae" --layer 1
lm48=("${lm[@]}")
for i in "${!lm48[@]}"; do [ "${lm48[$i]}" = --d-model ] && lm48[$((i + 1))]=48; done
"$lmtrain" "${lm48[@]}" --steps 2 --seed 1 --out "$work/lm48" > /dev/null 2>&1 || fail "train_tinylm d 48"
bad width "does not match the hook point mlp_out of the language model (d_model = 48)" "${an[@]/$ck/$work/lm48/ckpt.safetensors}" --sae-out "$work/sae" --layer 1
"$lmtrain" "${lm[@]}" --steps 2 --seed 1 --mlp glu-silu --out "$work/glu" > /dev/null 2>&1 || fail "train_tinylm glu"
bad glu "exact only for bilinear layers" "${an[@]/$ck/$work/glu/ckpt.safetensors}" --sae-out "$work/sae" --layer 1
: > "$work/empty.txt"
bad empty "fewer than one window" "${an[@]}" --sae-out "$work/sae" --layer 1 --text "$work/empty.txt"
echo "Once upon a time there was a cat." > "$work/short.txt"
bad short "fewer than one window" "${an[@]}" --sae-out "$work/sae" --layer 1 --text "$work/short.txt"
bad series "must look like LABEL=PATH" "${an[@]}" --sae-out "$work/sae" --layer 1 --sae-out-series "$work/sae_b"
echo "ok"
