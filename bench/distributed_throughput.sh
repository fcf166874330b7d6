#!/usr/bin/env bash
# Throughput of data-parallel training on one machine (issue 21): 2 ranks x 1 thread against one
# process x 2 threads, for the MNIST paper recipe (samples/s over --mnist-steps steps of batch
# 2048) and the default LM (tokens/s over --lm-steps steps of 16 x 256 tokens), the two
# contenders interleaved, --rounds rounds, medians printed with the load average.
#   bash bench/distributed_throughput.sh [--build build/release] [--rounds 3] [--mnist-steps 29]
#        [--lm-steps 30] [--out DIR] [--skip-lm]
set -euo pipefail
build=build/release rounds=3 mnist_steps=29 lm_steps=30 out=/tmp/bilin_dist_bench skip_lm=0
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;; --rounds) rounds=$2; shift 2 ;; --mnist-steps) mnist_steps=$2; shift 2 ;;
    --lm-steps) lm_steps=$2; shift 2 ;; --out) out=$2; shift 2 ;; --skip-lm) skip_lm=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
ex=$build/examples
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
mkdir -p "$out"
json() { tail -1 "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['$2'])"; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -a m1 m2 l1 l2
# the LM's tokenizer and caches once, outside the timing
[ $skip_lm = 1 ] || "$ex/train_tinylm" --steps 1 --eval-windows 1 --out "$out/lm_prep" --cache "$out/lm_cache" >/dev/null 2>&1
for r in $(seq "$rounds"); do
  M=(--dataset mnist --epochs 1 --max-steps "$mnist_steps" --no-final-train-eval)
  "$ex/train_mnist" "${M[@]}" --threads 2 --out "$out/m1" > "$out/m1.json" 2>/dev/null
  mpirun -np 2 --bind-to core "$ex/train_mnist" "${M[@]}" --threads 1 --out "$out/m2" > "$out/m2.json" 2>/dev/null
  # samples/s of the training steps (train_seconds excludes data loading and evaluation)
  m1+=("$(python3 -c "import json; d=json.loads(open('$out/m1.json').read().splitlines()[-1]); print($mnist_steps*2048/d['train_seconds'])")")
  m2+=("$(python3 -c "import json; d=json.loads(open('$out/m2.json').read().splitlines()[-1]); print($mnist_steps*2048/d['train_seconds'])")")
  echo "round $r: mnist 1x2 ${m1[-1]} samples/s, 2x1 ${m2[-1]} samples/s"
  if [ $skip_lm = 0 ]; then
    L=(--steps "$lm_steps" --eval-every 100000 --eval-windows 1 --ckpt-every 100000 --cache "$out/lm_cache")
    rm -rf "$out/l1" "$out/l2"
    "$ex/train_tinylm" "${L[@]}" --threads 2 --out "$out/l1" > "$out/l1.json" 2>/dev/null
    mpirun -np 2 --bind-to core "$ex/train_tinylm" "${L[@]}" --threads 1 --out "$out/l2" > "$out/l2.json" 2>/dev/null
    l1+=("$(json "$out/l1.json" tokens_per_s)"); l2+=("$(json "$out/l2.json" tokens_per_s)")
    echo "round $r: lm 1x2 ${l1[-1]} tokens/s, 2x1 ${l2[-1]} tokens/s"
  fi
done
a=$(median "${m1[@]}") b=$(median "${m2[@]}")
echo "mnist paper recipe: 1 process x 2 threads $a samples/s, 2 ranks x 1 thread $b samples/s, ratio $(python3 -c "print(round($b/$a,3))")"
if [ $skip_lm = 0 ]; then
  a=$(median "${l1[@]}") b=$(median "${l2[@]}")
  echo "default LM: 1 process x 2 threads $a tokens/s, 2 ranks x 1 thread $b tokens/s, ratio $(python3 -c "print(round($b/$a,3))")"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
