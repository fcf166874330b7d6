#!/usr/bin/env bash
# The language-model half in one command: train the default bilinear LM (train_tinylm's default
# recipe), its TopK SAEs at every layer's mlp_out and mlp_in (the README's recipe), and write
# analyze_lm's report over all layers.
#   bash examples/lm_quickstart.sh [--quick] [--build DIR] [--out DIR] [--data DIR]
#     --quick      tiny budgets (a 2-layer d-64 model, vocab 512, short SAE runs): the whole
#                  pipeline in a few minutes, for a smoke test; the numbers mean nothing
#     --build DIR  build folder holding (or receiving) the programs (default build/release)
#     --out DIR    where the model, the SAEs and the report go (default DIR_of_build/lm_quickstart)
#     --data DIR   TinyStories folder (default: the programs' compiled-in data folder)
# Existing outputs are reused: a finished model or SAE folder (its summary file present) is not
# retrained, so a second run only redoes the analysis. The last stdout line is analyze_lm's JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0 build=build/release out="" data=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --build) build=${2:?--build needs a folder}; shift ;;
    --out) out=${2:?--out needs a folder}; shift ;;
    --data) data=${2:?--data needs a folder}; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lm_quickstart: unknown flag '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$out" ] || out="$build/lm_quickstart"
mkdir -p "$out"
out=$(cd "$out" && pwd)
t0=$(date +%s)
say() { echo "lm_quickstart [$(( $(date +%s) - t0 )) s]: $*" >&2; }

bin="$build/examples"
if [ ! -x "$bin/train_tinylm" ] || [ ! -x "$bin/train_sae" ] || [ ! -x "$bin/analyze_lm" ]; then
  say "building train_tinylm, train_sae and analyze_lm in $build"
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" >&2
  cmake --build "$build" -j 2 --target train_tinylm train_sae analyze_lm >&2
fi
data_flag=()
[ -n "$data" ] && data_flag=(--data "$data")

if [ "$quick" = 1 ]; then
  lm_flags=(--vocab 512 --layers 2 --d-model 64 --heads 2 --hidden 256 --ctx 64 --batch 8 --steps 60
            --eval-every 30 --eval-windows 8 --ckpt-every 30 --log-every 10)
  sae_flags=(--steps 64 --batch 1024 --buffer 16384 --reuse 4 --windows 8 --eval-windows 4 --final-windows 8
             --log-every 16)
  an_flags=(--windows 24 --exact-inputs 1000 --goe-pool 4 --top-features 2)
else
  lm_flags=()
  sae_flags=(--steps 6144 --lr 4e-4 --buffer 262144 --reuse 8 --final-windows 128 --log-every 256)
  an_flags=()
fi

# 1. The language model.
if [ -f "$out/lm/train.json" ] && [ -f "$out/lm/ckpt.safetensors" ]; then
  say "reusing the model in $out/lm"
else
  mkdir -p "$out/lm"
  say "1/3 training the language model (train_tinylm${lm_flags:+ ${lm_flags[*]}}) into $out/lm; progress below"
  "$bin/train_tinylm" "${data_flag[@]}" "${lm_flags[@]}" --out "$out/lm" --cache "$out/lm" > "$out/lm/train.json.tmp"
  mv "$out/lm/train.json.tmp" "$out/lm/train.json"
fi
say "model: $(tail -n 1 "$out/lm/train.json")"

# 2. One SAE per layer at mlp_out (output features) and mlp_in (input features), one harvesting pass.
if [ -f "$out/sae/summary.json" ]; then
  say "reusing the SAEs in $out/sae"
else
  say "2/3 training the SAEs (train_sae --all-layers --hook mlp_out,mlp_in ${sae_flags[*]}) into $out/sae"
  mkdir -p "$out/sae"
  "$bin/train_sae" --ckpt "$out/lm/ckpt.safetensors" --cache "$out/lm" "${data_flag[@]}" --all-layers \
    --hook mlp_out,mlp_in "${sae_flags[@]}" --out "$out/sae" > "$out/sae/summary.json.tmp"
  mv "$out/sae/summary.json.tmp" "$out/sae/summary.json"
fi

# 3. The analysis of every layer.
say "3/3 analyze_lm --layer all into $out/report"
"$bin/analyze_lm" --ckpt "$out/lm/ckpt.safetensors" --cache "$out/lm" "${data_flag[@]}" --sae-out "$out/sae" \
  --sae-in "$out/sae" --layer all "${an_flags[@]}" --out "$out/report" > "$out/report.json"
say "done: open $out/report/report.html (numbers for NumPy/PyTorch: $out/report/results.safetensors, results.json)"
tail -n 1 "$out/report.json"
