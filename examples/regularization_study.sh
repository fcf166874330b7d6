#!/usr/bin/env bash
# regularization_study.sh — the paper's regularization / overfitting study, end to end.
#
#   examples/regularization_study.sh [--build DIR] [--out DIR] [--dataset mnist|fmnist]
#                                    [--epochs N] [--noises "0 0.2 0.4 0.6"] [--wds "0.5 0"]
#                                    [--threads N]
#
# Trains the default bilinear model (train_mnist, paper recipe) once per combination of input-noise
# std and weight decay (default: 4 noise levels × with/without weight decay = 8 trainings of
# 20 epochs), skipping a combination whose model.safetensors already exists (so an interrupted
# study resumes), then writes OUT/report.html with regularization_report: test accuracy,
# effective rank and top-10 |λ| mass of the class interaction matrices, and the top eigenvector
# pictures of every model. The last stdout line is regularization_report's JSON.
# Takes roughly 8 × (one default training) — run it in the background.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=""
out=regularization_study
dataset=mnist
epochs=20
noises="0 0.2 0.4 0.6"
wds="0.5 0"
threads=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --dataset) dataset=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --noises) noises=$2; shift 2 ;;
    --wds) wds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "regularization_study: unknown option $1" >&2; exit 2 ;;
  esac
done

# Find the programs: --build DIR, else the folder this script was installed/copied to, else
# the usual build folders next to the checkout.
find_prog() {
  local name=$1
  for d in "$build/examples" "$build" "$here" "$here/../build/examples" "$PWD/examples" "$PWD"; do
    [[ -n $d && -x $d/$name ]] && { echo "$d/$name"; return 0; }
  done
  echo "regularization_study: cannot find $name; build it and pass --build BUILD_DIR" >&2
  exit 1
}
train=$(find_prog train_mnist)
report=$(find_prog regularization_report)

mkdir -p "$out"
args=()
for wd in $wds; do
  for noise in $noises; do
    label="noise${noise}_wd${wd}"
    dir="$out/$label"
    if [[ ! -f $dir/model.safetensors ]]; then
      echo "regularization_study: training $label ($epochs epochs)" >&2
      "$train" --dataset "$dataset" --out "$dir" --epochs "$epochs" --noise "$noise" --wd "$wd" \
        --threads "$threads" > "$dir.train.json" 2> "$dir.train.log" ||
        { echo "regularization_study: training $label failed, see $dir.train.log" >&2; exit 1; }
      tail -n 1 "$dir.train.json" >&2
    else
      echo "regularization_study: $label already trained" >&2
    fi
    args+=("$label=$dir/model.safetensors")
  done
done
"$report" --out "$out" --dataset "$dataset" "${args[@]}"
