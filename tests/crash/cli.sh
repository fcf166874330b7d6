#!/usr/bin/env bash
# usage: cli.sh TRAIN_MNIST TRAIN_TINYLM TRAIN_SAE TINYSTORIES_DIR WORK_DIR   (see tests/crash.cmake)
# Program-level crash safety (issue 20 part B), each trainer at a tiny budget:
# - SIGTERM / SIGINT mid-run: exit code 75, a message naming the signal, the position and the
#   checkpoint; --resume then ends with the same tensors, byte for byte, as an uninterrupted run.
# - --inject-nan STEP (test hook): exit 1 with a message naming the step and the parameter, and
#   the last checkpoint is the one written before that step (same tensors as a run stopped
#   there); with --skip-nonfinite 1 the run completes and reports one skipped step.
# - full disk and read-only output: train_tinylm resumed into a full tmpfs / a read-only
#   remount of it (in a private mount namespace: `unshare -m`, nothing leaks) fails naming the
#   checkpoint and the OS error, and the previous checkpoint stays byte-identical. Without mount
#   rights the full disk is a file-size limit (ulimit -f, EFBIG) and the read-only case is
#   skipped when running as root (root ignores permission bits), else a folder without write
#   permission.
set -uo pipefail
mnist=$1 lmtrain=$2 sae=$3 data=$4 work=$5
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$data/TinyStories-valid-head.txt" ]; then echo "skip: no TinyStories data in $data"; exit 77; fi
fail() { echo "FAIL: $*"; exit 1; }
same() {  # same tensors (names and bytes) in two safetensors files
  python3 -c "import sys; sys.path.insert(0, '$here'); import kill_test as k
d = k.same_tensors(sys.argv[1], sys.argv[2]); print(d) if d else None; sys.exit(1 if d else 0)" "$1" "$2"
}
lm=(--data "$data" --cache "$work/cache" --vocab 512 --layers 1 --d-model 32 --heads 2 --hidden 64 --ctx 32 --batch 8
    --eval-windows 4 --log-every 1 --threads 1 --seed 3)
mn=(--dataset mnist --hidden 16 --epochs 2 --batch 2000 --threads 1 --no-final-train-eval)

# --- the file-system part runs inside a private mount namespace (re-executed by the main part)
if [ "${FS_PART:-}" = 1 ]; then
  dir=$work/fs
  mkdir -p "$dir"
  mount -t tmpfs -o size=4m tmpfs "$dir" || exit 3
  "$lmtrain" "${lm[@]}" --steps 40 --eval-every 10 --ckpt-every 1 --stop-at 10 --out "$dir" > /dev/null 2> "$work/fs1.err" \
    || { cat "$work/fs1.err"; fail "train_tinylm into the tmpfs"; }
  cp "$dir/ckpt.safetensors" "$work/fs_v1.safetensors"
  dd if=/dev/zero of="$dir/filler" bs=64k 2> /dev/null  # until the tmpfs is full
  "$lmtrain" "${lm[@]}" --steps 40 --eval-every 10 --ckpt-every 1 --resume --out "$dir" > /dev/null 2> "$work/fs2.err"
  rc=$?
  [ $rc = 1 ] || fail "resume into a full disk: exit $rc, expected 1: $(cat "$work/fs2.err")"
  grep -q "$dir/ckpt.safetensors.*No space left on device" "$work/fs2.err" || fail "full disk error: $(cat "$work/fs2.err")"
  cmp -s "$dir/ckpt.safetensors" "$work/fs_v1.safetensors" || fail "the checkpoint changed on the full disk"
  echo "full disk (tmpfs): $(tail -n 1 "$work/fs2.err")"
  rm -f "$dir/filler"
  mount -o remount,ro "$dir" || fail "remount read-only"
  "$lmtrain" "${lm[@]}" --steps 40 --eval-every 10 --ckpt-every 1 --resume --out "$dir" > /dev/null 2> "$work/fs3.err"
  rc=$?
  [ $rc = 1 ] || fail "resume into a read-only folder: exit $rc, expected 1"
  grep -q "$dir/ckpt.safetensors.*Read-only file system" "$work/fs3.err" || fail "read-only error: $(cat "$work/fs3.err")"
  cmp -s "$dir/ckpt.safetensors" "$work/fs_v1.safetensors" || fail "the checkpoint changed in the read-only folder"
  echo "read-only (tmpfs remount): $(tail -n 1 "$work/fs3.err")"
  exit 0
fi

rm -rf "$work"; mkdir -p "$work"

# --- signals: stop after the first progress line, exit 75, resume to the uninterrupted result
signal_case() {  # name signal exe out-dir ckpt final wait-regex args...
  local name=$1 sig=$2 exe=$3 out=$4 ckpt=$5 final=$6 pattern=$7; shift 7
  "$exe" "$@" --out "$work/${name}_ref" > /dev/null 2> "$work/${name}_ref.err" || { cat "$work/${name}_ref.err"; fail "$name reference run"; }
  "$exe" "$@" --out "$out" > /dev/null 2> "$work/$name.err" &
  local pid=$! i
  for i in $(seq 600); do grep -qE "$pattern" "$work/$name.err" && break; sleep 0.05; done
  kill -s "$sig" $pid
  wait $pid
  local rc=$?
  [ $rc = 75 ] || fail "$name: exit $rc after SIG$sig, expected 75: $(tail -n 3 "$work/$name.err")"
  grep -q "stopped by SIG$sig at .*; checkpoint written to .*$ckpt (continue with --resume)" "$work/$name.err" \
    || fail "$name: no stop message: $(tail -n 2 "$work/$name.err")"
  echo "$name: $(grep "stopped by" "$work/$name.err")"
  local resume=(--resume); [ "$name" = mnist ] && resume=(--resume "$out/$ckpt")
  "$exe" "$@" --out "$out" "${resume[@]}" > /dev/null 2> "$work/$name.resume.err" || { cat "$work/$name.resume.err"; fail "$name resume"; }
  same "$work/${name}_ref/$final" "$out/$final" || fail "$name: the resumed run differs from the uninterrupted one"
}
signal_case lm TERM "$lmtrain" "$work/lm_sig" ckpt.safetensors ckpt.safetensors '^step +[0-9]+/' "${lm[@]}" --steps 1500 --eval-every 500 --ckpt-every 5000
signal_case mnist INT "$mnist" "$work/mnist_sig" checkpoint.safetensors checkpoint.safetensors 'train_mnist: data' "${mn[@]}"
ck="$work/lm_ref/ckpt.safetensors"  # the LM the SAEs read
sae_args=(--ckpt "$ck" --data "$data" --cache "$work/cache" --expansion 4 --k 8 --steps 200 --batch 256 --buffer 1500 --reuse 2
          --eval-windows 4 --final-windows 8 --log-every 1 --threads 1 --top 2 --layer 0 --hook mlp_out)
signal_case sae TERM "$sae" "$work/sae_sig" ckpt.safetensors sae.safetensors '^\[0-mlp_out\] step +[0-9]+/' "${sae_args[@]}"

# --- non-finite: stop naming step and parameter, keep the last checkpoint; or skip
nan_case() {  # name exe step ckpt stop-flags(for the comparison run, as one string) args...
  local name=$1 exe=$2 step=$3 ckpt=$4 stopflags=$5; shift 5
  "$exe" "$@" --inject-nan "$step" --out "$work/${name}_nan" > /dev/null 2> "$work/${name}_nan.err"
  local rc=$?
  [ $rc = 1 ] || fail "$name --inject-nan: exit $rc, expected 1"
  grep -q "non-finite training step $step: the gradient of parameter '[a-z_.0-9]*' is nan" "$work/${name}_nan.err" \
    || fail "$name: unclear non-finite error: $(tail -n 2 "$work/${name}_nan.err")"
  echo "$name: $(tail -n 1 "$work/${name}_nan.err")"
  # shellcheck disable=SC2086
  "$exe" "$@" $stopflags --out "$work/${name}_stop" > /dev/null 2> "$work/${name}_stop.err" || { cat "$work/${name}_stop.err"; fail "$name stop run"; }
  same "$work/${name}_stop/$ckpt" "$work/${name}_nan/$ckpt" || fail "$name: the last good checkpoint is not the one before step $step"
  "$exe" "$@" --inject-nan "$step" --skip-nonfinite 1 --out "$work/${name}_skip" > "$work/${name}_skip.out" 2> "$work/${name}_skip.err" \
    || { cat "$work/${name}_skip.err"; fail "$name --skip-nonfinite 1"; }
  grep -q '"skipped_nonfinite":1' "$work/${name}_skip.out" || fail "$name: skipped step not reported: $(tail -n 1 "$work/${name}_skip.out")"
}
nan_case lm "$lmtrain" 7 ckpt.safetensors "--stop-at 5" "${lm[@]}" --steps 20 --eval-every 10 --ckpt-every 5
nan_case mnist "$mnist" 3 checkpoint.safetensors "--max-steps 2" "${mn[@]}" --ckpt-steps 2
# 11 steps per buffer fill here: checkpoints at fill ends only, the NaN in the second fill
nan_case sae "$sae" 12 ckpt.safetensors "--stop-at 11" "${sae_args[@]/200/24}"
echo "signals and non-finite steps: ok"

# --- full disk and read-only output
rc=3
if unshare -m true 2> /dev/null; then
  FS_PART=1 unshare -m bash "$0" "$@"
  rc=$?
  [ $rc = 1 ] && fail "file-system faults"
fi
if [ $rc != 0 ]; then
  echo "no mount namespace here: full disk via ulimit -f"
  dir=$work/fs; mkdir -p "$dir"
  "$lmtrain" "${lm[@]}" --steps 40 --eval-every 10 --ckpt-every 1 --stop-at 10 --out "$dir" > /dev/null 2> "$work/fs1.err" || fail "fs run"
  cp "$dir/ckpt.safetensors" "$work/fs_v1.safetensors"
  ( trap '' XFSZ; ulimit -f 100; exec "$lmtrain" "${lm[@]}" --steps 40 --eval-every 10 --ckpt-every 1 --resume --out "$dir" ) > /dev/null 2> "$work/fs2.err"
  grep -q "$dir/ckpt.safetensors.*File too large" "$work/fs2.err" || fail "file-size limit error: $(cat "$work/fs2.err")"
  cmp -s "$dir/ckpt.safetensors" "$work/fs_v1.safetensors" || fail "the checkpoint changed at the file-size limit"
  if [ "$(id -u)" != 0 ]; then
    chmod a-w "$dir"
    "$lmtrain" "${lm[@]}" --steps 40 --eval-every 10 --ckpt-every 1 --resume --out "$dir" > /dev/null 2> "$work/fs3.err"
    chmod u+w "$dir"
    grep -q "$dir/ckpt.safetensors.*Permission denied" "$work/fs3.err" || fail "read-only error: $(cat "$work/fs3.err")"
    cmp -s "$dir/ckpt.safetensors" "$work/fs_v1.safetensors" || fail "the checkpoint changed in the read-only folder"
  else
    echo "read-only case skipped: root without mount rights (root ignores permission bits)"
  fi
fi
echo "crash cli: ok"
