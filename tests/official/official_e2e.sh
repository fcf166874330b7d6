#!/usr/bin/env bash
# usage: official_e2e.sh GENERATE ANALYZE_LM TRAIN_SAE DATA_DIR WORK_DIR   (see tests/official.cmake)
# The programs that take a language model, end to end on a random model in the official layout
# (tests/official_lm_torch.py make: config.json + model.safetensors + tokenizer.json, and official
# SAE folders): generate --ids --logits-out equals PyTorch's logits to 1e-5 relative; generate
# --export-official round-trips the model; generate samples from a prompt tokenized with the
# folder's tokenizer.json; analyze_lm analyses layer 1 with the official SAE folders (output at
# mlp_out, input at resid_mid; exactness, r = 1 at k = d); train_sae trains on the folder's model
# (when the TinyStories data is there). Skipped (exit 77) without PyTorch.
set -euo pipefail
gen=$1 analyze=$2 sae=$3 data=$4 work=$5
here=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
"$py" -c 'import torch' 2>/dev/null || { echo "skip: /usr/bin/python3 has no torch"; exit 77; }
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
"$py" "$here/official_lm_torch.py" make "$work" 0 BF16 || fail "official_lm_torch.py make"
m="$work/model"

# generate --ids --logits-out against PyTorch (row 0 of the reference batch)
ids=$("$py" - "$work/ref.safetensors" "$here" <<'PY'
import sys; sys.path.insert(0, sys.argv[2] + "/../bench")
from compare_torch_lm import read_safetensors
a, _ = read_safetensors(sys.argv[1]); print(",".join(str(int(i)) for i in a["ids"][0]))
PY
)
"$gen" --ckpt "$m" --ids "$ids" --logits-out "$work/logits.safetensors" > "$work/gen.out" || fail "generate --logits-out"
grep -q '"official": true' "$work/gen.out" || fail "generate summary: $(cat "$work/gen.out")"
"$py" - "$work/logits.safetensors" "$work/ref.safetensors" "$here" <<'PY' || fail "generate logits differ from PyTorch's"
import sys; sys.path.insert(0, sys.argv[3] + "/../bench")
import numpy as np
from compare_torch_lm import read_safetensors
got, _ = read_safetensors(sys.argv[1]); ref, _ = read_safetensors(sys.argv[2])
g, r = got["logits"], ref["logits"][0]
assert g.shape == r.shape, (g.shape, r.shape)
rel = float(np.abs(g - r).max() / np.abs(r).max())
print("generate --logits-out vs PyTorch: relative difference %.3g" % rel)
assert rel <= 1e-5
PY
# --export-official writes the loaded model back in the official layout: same logits
"$gen" --ckpt "$m" --export-official "$work/exported" > /dev/null || fail "generate --export-official"
"$gen" --ckpt "$work/exported" --ids "$ids" --logits-out "$work/logits2.safetensors" > /dev/null || fail "generate on the export"
cmp -s <(tail -c +9 "$work/logits.safetensors") <(tail -c +9 "$work/logits2.safetensors") || fail "exported model gives other logits"
"$gen" --ckpt "$m/config.json" --prompt "Once upon a time, Lily saw 3 dogs." --tokens 8 --seed 1 > "$work/sample.txt" 2> /dev/null \
  || fail "generate with the folder's tokenizer.json"
grep -q "^once upon a time , lily saw 3 dogs \." "$work/sample.txt" || fail "generate output: $(cat "$work/sample.txt")"
# a folder without its tokenizer needs --ids
mkdir -p "$work/notok" && cp "$m/config.json" "$m/model.safetensors" "$work/notok/"
if "$gen" --ckpt "$work/notok" --prompt hi > /dev/null 2> "$work/notok.err"; then fail "generate without a tokenizer succeeded"; fi
grep -q "no tokenizer.json" "$work/notok.err" || fail "generate error: $(cat "$work/notok.err")"

# analyze_lm on the folder with the official SAE folder
"$analyze" --ckpt "$m" --sae-out "$work/sae" --sae-in "$work/sae" --layer 1 --text "$work/stories.txt" --out "$work/an" --threads 2 \
  --windows 24 --goe-pool 4 --top-features 2 > "$work/an.out" 2> "$work/an.err" || { cat "$work/an.err"; fail "analyze_lm"; }
"$py" - "$(tail -n 1 "$work/an.out")" <<'PY' || fail "analyze_lm figures"
import json, sys
j = json.loads(sys.argv[1])
assert j["exactness_max_rel_err"] <= 1e-4, j["exactness_max_rel_err"]
assert abs(j["corr_mean"]["d"] - 1) <= 1e-5, j["corr_mean"]["d"]
assert j["features_analysed"] > 0
PY
[ -f "$work/an/report.html" ] || fail "no report"

# train_sae on the folder (needs the TinyStories text)
if [ -f "$data/TinyStories-valid-head.txt" ]; then
  "$sae" --ckpt "$m" --data "$data" --layer 1 --hook mlp_out --expansion 4 --k 8 --steps 20 --batch 256 --buffer 1500 \
    --reuse 2 --eval-windows 4 --final-windows 8 --log-every 10 --threads 2 --top 3 --out "$work/sae_new" \
    > "$work/sae.out" 2> "$work/sae.err" || { cat "$work/sae.err"; fail "train_sae"; }
  [ -f "$work/sae_new/sae.safetensors" ] || fail "train_sae wrote no sae.safetensors"
fi
echo "official_e2e: ok"
