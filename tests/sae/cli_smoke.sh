#!/usr/bin/env bash
# usage: cli_smoke.sh TRAIN_TINYLM TRAIN_SAE DATA_DIR WORK_DIR   (see tests/sae.cmake)
# End-to-end check of train_sae (issue 16) on a tiny LM trained here in seconds: the JSON
# summary, the files it writes (the SAE in the official layout, features, metrics), an
# interrupted and resumed run giving a byte-identical SAE, --all-layers, the AuxK flag,
# --eval-sae of the written file, and clear errors (not a transformer checkpoint, an SAE whose d does not fit, a truncated SAE file,
# k >= n).
set -euo pipefail
lmtrain=$1 sae=$2 data=$3 work=$4
if [ ! -f "$data/TinyStories-valid-head.txt" ]; then echo "skip: no TinyStories data in $data"; exit 77; fi
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
lm=(--data "$data" --cache "$work/cache" --vocab 512 --layers 2 --d-model 32 --heads 2 --hidden 64 --ctx 32
    --batch 8 --steps 30 --eval-every 30 --eval-windows 4 --log-every 10 --threads 2 --seed 1)
"$lmtrain" "${lm[@]}" --out "$work/lm" > /dev/null 2> "$work/lm.err" || { cat "$work/lm.err"; fail "train_tinylm"; }
ck="$work/lm/ckpt.safetensors"
base=(--ckpt "$ck" --data "$data" --cache "$work/cache" --expansion 4 --steps 24 --batch 256 --buffer 1500
      --reuse 2 --eval-windows 4 --final-windows 16 --log-every 6 --threads 2 --top 3)
common=("${base[@]}" --k 8)

# one SAE
"$sae" "${common[@]}" --layer 1 --hook mlp_out --out "$work/a" > "$work/a.out" 2> "$work/a.err" || { cat "$work/a.err"; fail "train_sae a"; }
last=$(tail -n 1 "$work/a.out")
for key in nmse loss_added loss_recovered dead_fraction seconds sae explained_variance l0; do
  grep -q "\"$key\"" <<< "$last" || fail "final JSON line lacks $key: $last"
done
grep -q '"l0":8,' <<< "$last" || fail "L0 is not k: $last"
grep -q "steps/s" "$work/a.err" && grep -q "ETA" "$work/a.err" || fail "no progress line with rate and ETA"
for f in sae.safetensors ckpt.safetensors metrics.jsonl features.json; do [ -f "$work/a/$f" ] || fail "no $f"; done
grep -q '"sae_config"' "$work/a/sae.safetensors" || fail "no sae_config metadata"
grep -q '\\"hook\\":\\"mlp_out\\"' "$work/a/sae.safetensors" || fail "sae_config lacks the hook"
grep -q '«' "$work/a/features.json" || fail "features.json has no marked contexts"

# interrupted after the first buffer fill and resumed: the same SAE, byte for byte
"$sae" "${common[@]}" --layer 1 --hook mlp_out --out "$work/b" --stop-at 5 > "$work/b1.out" 2> "$work/b1.err" || { cat "$work/b1.err"; fail "train_sae b (part 1)"; }
[ ! -f "$work/b/sae.safetensors" ] || fail "an interrupted run wrote sae.safetensors"
"$sae" "${common[@]}" --layer 1 --hook mlp_out --out "$work/b" --resume > "$work/b.out" 2> "$work/b2.err" || { cat "$work/b2.err"; fail "train_sae b (resume)"; }
grep -q "resumed at step" "$work/b2.err" || fail "did not resume"
cmp -s "$work/a/sae.safetensors" "$work/b/sae.safetensors" || fail "the resumed SAE differs from the uninterrupted one"
# resuming with other settings is refused
if "$sae" "${base[@]}" --k 4 --layer 1 --hook mlp_out --out "$work/b" --resume > /dev/null 2> "$work/b3.err"; then fail "resume with another k"; fi
grep -q "different run" "$work/b3.err" || fail "unclear resume error: $(cat "$work/b3.err")"

# all layers and two hooks in one pass
"$sae" "${common[@]}" --all-layers --hook mlp_out,mlp_in --out "$work/all" > "$work/all.out" 2> "$work/all.err" || { cat "$work/all.err"; fail "--all-layers"; }
for t in 0-mlp_out 1-mlp_out 0-mlp_in 1-mlp_in; do [ -f "$work/all/$t/sae.safetensors" ] || fail "no $t SAE"; done
[ "$(grep -o '"nmse"' "$work/all.out" | wc -l)" -eq 4 ] || fail "--all-layers summary should list 4 SAEs"

# the AuxK flag trains too
"$sae" "${common[@]}" --layer 0 --hook mlp_in --aux-k 16 --dead-tokens 256 --out "$work/aux" > "$work/aux.out" 2> "$work/aux.err" || { cat "$work/aux.err"; fail "--aux-k"; }
grep -q '"finished":true' "$work/aux.out" || fail "--aux-k run did not finish"

# --eval-sae reproduces the final metrics of the written file
"$sae" "${common[@]}" --eval-sae "$work/a/sae.safetensors" > "$work/e.out" 2> "$work/e.err" || { cat "$work/e.err"; fail "--eval-sae"; }
na=$(grep -o '"nmse":[^,]*' "$work/a.out"); ne=$(grep -o '"nmse":[^,]*' "$work/e.out")
[ "$na" = "$ne" ] || fail "--eval-sae gives $ne, training reported $na"

# errors
if "$sae" "${base[@]/$ck/$work/a/sae.safetensors}" --out "$work/x" > /dev/null 2> "$work/x1.err"; then fail "an SAE file accepted as LM"; fi
grep -q "not a train_tinylm checkpoint" "$work/x1.err" || fail "unclear not-a-transformer error: $(cat "$work/x1.err")"
# the tiny LM's flags with --d-model 48 and --steps 2 (a flag may be given once)
lm48=("${lm[@]}")
for i in "${!lm48[@]}"; do
  case "${lm48[$i]}" in --d-model) lm48[$((i + 1))]=48 ;; --steps) lm48[$((i + 1))]=2 ;; esac
done
"$lmtrain" "${lm48[@]}" --out "$work/lm48" > /dev/null 2>&1 || fail "train_tinylm d 48"
if "$sae" "${base[@]/$ck/$work/lm48/ckpt.safetensors}" --eval-sae "$work/a/sae.safetensors" > /dev/null 2> "$work/x2.err"; then fail "SAE with the wrong d accepted"; fi
grep -q "the SAE's d = 32 does not match the hook point mlp_out of the language model (d_model = 48)" "$work/x2.err" || fail "unclear d error: $(cat "$work/x2.err")"
size=$(stat -c %s "$work/a/sae.safetensors")
head -c $((size - 100)) "$work/a/sae.safetensors" > "$work/trunc.safetensors"
if "$sae" "${common[@]}" --eval-sae "$work/trunc.safetensors" > /dev/null 2> "$work/x3.err"; then fail "truncated SAE accepted"; fi
grep -q "load_sae: .*trunc.safetensors" "$work/x3.err" || fail "unclear truncation error: $(cat "$work/x3.err")"
if "$sae" "${base[@]}" --k 128 --out "$work/x" > /dev/null 2> "$work/x4.err"; then fail "k = n accepted"; fi
grep -q "k = 128 must satisfy 0 < k < n = 128" "$work/x4.err" || fail "unclear k error: $(cat "$work/x4.err")"
echo "ok"
