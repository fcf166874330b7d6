#!/usr/bin/env bash
# Data-parallel training under mpirun on loopback (issue 21). One check per call:
#   mpi_check.sh mnist|lm|sae|bad-use  MPIEXEC BUILD_EXAMPLES PYTHON OUT
# mnist / lm / sae: 20 steps at N = 2 and N = 3 (batch 512 / 10 / 50: not divisible by 3, so the remainder
#   rule is exercised) match a one-process run with the same global batch to 1e-5 relative
#   (summation order is the only difference), two N = 2 runs are bit-identical, and a checkpoint
#   written at N = 2 after 10 steps resumes at N = 1 and N = 3 to the same weights. sae also runs
#   analyze_lm at N = 3 (features split over the ranks): results bit-identical to one process.
# bad-use: flags that differ between ranks and a batch smaller than N fail with an error naming
#   the flag / batch; a rank killed mid-run (SIGKILL) ends the job within seconds with an error,
#   and the last checkpoint it left loads and resumes.
# Skipped (exit 77) when MNIST is not found.
set -euo pipefail
what=$1 MPIEXEC=$2 EX=$3 PY=$4 OUT=$5
here=$(cd "$(dirname "$0")" && pwd)
cmp() { "$PY" "$here/compare_weights.py" "$@"; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI may run as root
export OMPI_MCA_btl=self,vader  # loopback only: shared memory between the local ranks
mpi() { local n=$1; shift; "$MPIEXEC" --oversubscribe -np "$n" "$@"; }
rm -rf "$OUT" && mkdir -p "$OUT"
fail() { echo "mpi_check $what: FAIL: $*" >&2; exit 1; }


case $what in
mnist)
  T=(--dataset mnist --epochs 1 --batch 512 --threads 1 --no-final-train-eval)
  if ! "$EX/train_mnist" "${T[@]}" --max-steps 20 --out "$OUT/ref" 2>"$OUT/ref.err" >/dev/null; then
    grep -q "not found" "$OUT/ref.err" && { echo "mpi_check: skipped, MNIST not found"; exit 77; }
    cat "$OUT/ref.err" >&2; fail "one-process run failed"
  fi
  for run in n2a n2b; do mpi 2 "$EX/train_mnist" "${T[@]}" --max-steps 20 --out "$OUT/$run" >/dev/null 2>&1; done
  mpi 3 "$EX/train_mnist" "${T[@]}" --max-steps 20 --out "$OUT/n3" >/dev/null 2>&1
  for run in n2a n3; do cmp "$OUT/ref/model.safetensors" "$OUT/$run/model.safetensors" --rtol 1e-5; done
  cmp "$OUT/n2a/checkpoint.safetensors" "$OUT/n2b/checkpoint.safetensors" --rtol 0
  [ "$(ls "$OUT/n2a")" = "$(ls "$OUT/ref")" ] || fail "N = 2 wrote $(ls "$OUT/n2a"), one process $(ls "$OUT/ref")"
  mpi 2 "$EX/train_mnist" "${T[@]}" --max-steps 10 --out "$OUT/half" >/dev/null 2>&1
  "$EX/train_mnist" --resume "$OUT/half/checkpoint.safetensors" --threads 1 --max-steps 20 --no-final-train-eval \
    --out "$OUT/r1" >/dev/null 2>&1
  mpi 3 "$EX/train_mnist" --resume "$OUT/half/checkpoint.safetensors" --threads 1 --max-steps 20 \
    --no-final-train-eval --out "$OUT/r3" >/dev/null 2>&1
  for run in r1 r3; do cmp "$OUT/ref/checkpoint.safetensors" "$OUT/$run/checkpoint.safetensors" --rtol 1e-5; done
  ;;
lm)
  T=(--vocab 512 --layers 1 --d-model 32 --heads 2 --hidden 64 --ctx 32 --batch 10 --steps 20 --eval-every 10
     --eval-windows 12 --threads 1 --cache "$OUT/cache")
  "$EX/train_tinylm" "${T[@]}" --out "$OUT/ref" >/dev/null 2>&1 || fail "one-process run failed"
  for run in n2a n2b; do mpi 2 "$EX/train_tinylm" "${T[@]}" --out "$OUT/$run" >/dev/null 2>&1; done
  mpi 3 "$EX/train_tinylm" "${T[@]}" --out "$OUT/n3" >/dev/null 2>&1
  for run in n2a n3; do cmp "$OUT/ref/ckpt.safetensors" "$OUT/$run/ckpt.safetensors" --rtol 1e-5; done
  cmp "$OUT/n2a/ckpt.safetensors" "$OUT/n2b/ckpt.safetensors" --rtol 0
  mpi 2 "$EX/train_tinylm" "${T[@]}" --stop-at 10 --out "$OUT/half" >/dev/null 2>&1
  cp -r "$OUT/half" "$OUT/r1" && cp -r "$OUT/half" "$OUT/r3"
  "$EX/train_tinylm" "${T[@]}" --resume --out "$OUT/r1" >/dev/null 2>&1
  mpi 3 "$EX/train_tinylm" "${T[@]}" --resume --out "$OUT/r3" >/dev/null 2>&1
  for run in r1 r3; do cmp "$OUT/ref/ckpt.safetensors" "$OUT/$run/ckpt.safetensors" --rtol 1e-5; done
  ;;
sae)
  # a tiny LM first (one process), then SAEs on its layer-0 mlp_out (batch 50: not divisible by 3)
  "$EX/train_tinylm" --vocab 512 --layers 1 --d-model 32 --heads 2 --hidden 64 --ctx 32 --batch 8 --steps 10 \
    --threads 1 --out "$OUT/lm" >/dev/null 2>&1 || fail "tiny LM failed"
  T=(--ckpt "$OUT/lm/ckpt.safetensors" --layer 0 --expansion 2 --k 4 --steps 20 --batch 50 --buffer 250 --reuse 2
     --windows 4 --eval-windows 4 --final-windows 8 --lr 1e-3 --threads 1)
  "$EX/train_sae" "${T[@]}" --out "$OUT/ref" >/dev/null 2>&1 || fail "one-process run failed"
  for run in n2a n2b; do mpi 2 "$EX/train_sae" "${T[@]}" --out "$OUT/$run" >/dev/null 2>&1; done
  mpi 3 "$EX/train_sae" "${T[@]}" --out "$OUT/n3" >/dev/null 2>&1
  for run in n2a n3; do cmp "$OUT/ref/ckpt.safetensors" "$OUT/$run/ckpt.safetensors" --rtol 1e-5; done
  cmp "$OUT/n2a/ckpt.safetensors" "$OUT/n2b/ckpt.safetensors" --rtol 0
  [ "$(ls "$OUT/n2a")" = "$(ls "$OUT/ref")" ] || fail "N = 2 wrote $(ls "$OUT/n2a"), one process $(ls "$OUT/ref")"
  mpi 2 "$EX/train_sae" "${T[@]}" --stop-at 10 --out "$OUT/half" >/dev/null 2>&1
  cp -r "$OUT/half" "$OUT/r1" && cp -r "$OUT/half" "$OUT/r3"
  "$EX/train_sae" "${T[@]}" --resume --out "$OUT/r1" >/dev/null 2>&1
  mpi 3 "$EX/train_sae" "${T[@]}" --resume --out "$OUT/r3" >/dev/null 2>&1
  for run in r1 r3; do cmp "$OUT/ref/ckpt.safetensors" "$OUT/$run/ckpt.safetensors" --rtol 1e-5; done
  # analyze_lm with the output features split over 3 ranks: the same numbers, bit for bit
  A=(--ckpt "$OUT/lm/ckpt.safetensors" --sae-out "$OUT/ref" --layer 0 --threads 1 --windows 16 --min-active 2)
  "$EX/analyze_lm" "${A[@]}" --out "$OUT/an1" >/dev/null 2>&1 || fail "analyze_lm (one process) failed"
  mpi 3 "$EX/analyze_lm" "${A[@]}" --out "$OUT/an3" >/dev/null 2>&1
  cmp "$OUT/an1/results.safetensors" "$OUT/an3/results.safetensors" --rtol 0
  [ -s "$OUT/an3/report.html" ] || fail "analyze_lm at N = 3 wrote no report"
  ;;
bad-use)
  T=(--vocab 512 --layers 1 --d-model 32 --heads 2 --hidden 64 --ctx 32 --steps 4 --threads 1 --cache "$OUT/cache")
  # flags differ between the ranks (MPMD launch): every rank fails naming the flag
  if "$MPIEXEC" --oversubscribe -np 1 "$EX/train_tinylm" "${T[@]}" --lr 1e-3 --out "$OUT/f" : \
       -np 1 "$EX/train_tinylm" "${T[@]}" --lr 2e-3 --out "$OUT/f" >/dev/null 2>"$OUT/flags.err"; then
    fail "mismatched --lr was accepted"
  fi
  grep -q "rank 1 has --lr 2e-3 but rank 0 has --lr 1e-3" "$OUT/flags.err" || { cat "$OUT/flags.err" >&2; fail "no error naming --lr"; }
  # a batch smaller than the number of ranks
  if mpi 3 "$EX/train_tinylm" "${T[@]}" --batch 2 --out "$OUT/b" >/dev/null 2>"$OUT/batch.err"; then
    fail "--batch 2 at N = 3 was accepted"
  fi
  grep -q "a batch of 2 rows cannot be split over 3 ranks" "$OUT/batch.err" || { cat "$OUT/batch.err" >&2; fail "no error naming the batch"; }
  # kill one rank mid-run: the job ends within seconds and the last checkpoint resumes
  M=(--dataset mnist --epochs 50 --batch 512 --threads 1 --save-every 1 --no-final-train-eval)
  "$MPIEXEC" --oversubscribe -np 2 "$EX/train_mnist" "${M[@]}" --out "$OUT/kill" >/dev/null 2>"$OUT/kill.err" &
  mpirun_pid=$!
  for _ in $(seq 600); do [ -e "$OUT/kill/checkpoint.safetensors" ] && break; sleep 0.1; done
  [ -e "$OUT/kill/checkpoint.safetensors" ] || { kill "$mpirun_pid"; grep -q "not found" "$OUT/kill.err" && { echo "mpi_check: skipped, MNIST not found"; exit 77; }; fail "no checkpoint after 60 s"; }
  sleep 1
  victim=$(pgrep -P "$mpirun_pid" train_mnist | tail -1)
  [ -n "$victim" ] || fail "no rank process found under mpirun $mpirun_pid"
  t0=$(date +%s.%N)
  kill -KILL "$victim"
  rc=0
  for _ in $(seq 300); do kill -0 "$mpirun_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$mpirun_pid" 2>/dev/null; then kill "$mpirun_pid"; fail "the job still runs 30 s after a rank was killed"; fi
  wait "$mpirun_pid" || rc=$?
  secs=$(echo "$(date +%s.%N) - $t0" | bc)
  [ "$rc" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
  echo "mpi_check: killed rank pid $victim; mpirun exited with $rc after ${secs} s"
  grep -E "exited on signal 9|killed" "$OUT/kill.err" | head -3
  "$EX/train_mnist" --resume "$OUT/kill/checkpoint.safetensors" --threads 1 --max-steps 0 --no-final-train-eval \
    --out "$OUT/kill_resumed" >/dev/null 2>"$OUT/resume.err" || { cat "$OUT/resume.err" >&2; fail "the last checkpoint does not resume"; }
  ;;
*) fail "unknown check '$what'" ;;
esac
echo "mpi_check $what: ok"
