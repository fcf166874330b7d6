#!/usr/bin/env bash
# usage: cli_smoke.sh TRAIN_TINYLM GENERATE DATA_DIR WORK_DIR   (see tests/lm.cmake)
set -euo pipefail
train=$1 gen=$2 data=$3 work=$4
if [ ! -f "$data/TinyStories-valid-head.txt" ]; then echo "skip: no TinyStories data in $data"; exit 77; fi
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
common=(--data "$data" --cache "$work/cache" --vocab 512 --layers 1 --d-model 32 --heads 2 --hidden 64 --ctx 32
        --batch 4 --steps 12 --eval-every 4 --eval-windows 4 --ckpt-every 5 --log-every 4 --threads 2 --seed 3)

# uninterrupted run
"$train" "${common[@]}" --out "$work/a" > "$work/a.out" 2> "$work/a.err" || { cat "$work/a.err"; fail "train a"; }
last=$(tail -n 1 "$work/a.out")
for key in val_loss train_loss tokens_per_s seconds checkpoint; do
  grep -q "\"$key\"" <<< "$last" || fail "final JSON line lacks $key: $last"
done
grep -q "tok/s" "$work/a.err" && grep -q "ETA" "$work/a.err" || fail "no progress line"
[ -f "$work/a/ckpt.safetensors" ] || fail "no checkpoint"
[ "$(wc -l < "$work/a/metrics.jsonl")" -eq 3 ] || fail "metrics.jsonl should have 3 evaluations"

# interrupted at step 7, resumed: the same final losses
"$train" "${common[@]}" --out "$work/b" --stop-at 7 > /dev/null 2> "$work/b1.err" || { cat "$work/b1.err"; fail "train b (part 1)"; }
"$train" "${common[@]}" --out "$work/b" --resume > "$work/b.out" 2> "$work/b2.err" || { cat "$work/b2.err"; fail "train b (resume)"; }
grep -q "resumed from .* at step 7" "$work/b2.err" || fail "did not resume at step 7"
va=$(grep -o '"val_loss":[^,]*' "$work/a.out"); vb=$(grep -o '"val_loss":[^,]*' "$work/b.out")
ta=$(grep -o '"train_loss":[^,]*' "$work/a.out"); tb=$(grep -o '"train_loss":[^,]*' "$work/b.out")
[ "$va" = "$vb" ] || fail "resumed run differs: $va vs $vb"
[ "$ta" = "$tb" ] || fail "resumed run differs: $ta vs $tb"
# resuming with another model is refused (the common flags with --d-model 64: a flag may be given once)
other=("${common[@]}")
for i in "${!other[@]}"; do [ "${other[$i]}" = --d-model ] && other[$((i + 1))]=64; done
if "$train" "${other[@]}" --out "$work/b" --resume > /dev/null 2> "$work/b3.err"; then fail "resume with another model"; fi
grep -q "cannot resume" "$work/b3.err" || fail "unclear resume error: $(cat "$work/b3.err")"

# generate: deterministic for a seed
"$gen" --ckpt "$work/a/ckpt.safetensors" --prompt "Once upon a time" --tokens 20 --seed 1 > "$work/g1.txt" 2>/dev/null || fail "generate"
"$gen" --ckpt "$work/a/ckpt.safetensors" --prompt "Once upon a time" --tokens 20 --seed 1 > "$work/g2.txt" 2>/dev/null
cmp -s "$work/g1.txt" "$work/g2.txt" || fail "generate is not reproducible"
grep -q "^Once upon a time" "$work/g1.txt" || fail "generate does not echo the prompt"
# generate --ids --logits-out on a bilin checkpoint, and --export-official gives the same logits
"$gen" --ckpt "$work/a/ckpt.safetensors" --ids 5,6,7 --logits-out "$work/la.safetensors" > /dev/null || fail "generate --logits-out"
"$gen" --ckpt "$work/a/ckpt.safetensors" --export-official "$work/off" > /dev/null || fail "generate --export-official"
"$gen" --ckpt "$work/off" --ids 5,6,7 --logits-out "$work/lb.safetensors" > /dev/null || fail "generate on the export"
cmp -s "$work/la.safetensors" "$work/lb.safetensors" || fail "the official export gives other logits"

# corrupted checkpoints: clear errors, non-zero exit
ck="$work/a/ckpt.safetensors"; size=$(stat -c %s "$ck")
hlen=$(od -An -t u8 -N8 "$ck" | tr -d ' ')
cp "$ck" "$work/flip.safetensors"  # a byte inside the first model tensor (the embedding)
printf '\x55' | dd of="$work/flip.safetensors" bs=1 seek=$((8 + hlen + 101)) conv=notrunc status=none
if "$gen" --ckpt "$work/flip.safetensors" --tokens 3 > /dev/null 2> "$work/flip.err"; then fail "flipped byte accepted"; fi
grep -q "CRC-32" "$work/flip.err" || fail "flipped byte: unclear error: $(cat "$work/flip.err")"
cp "$ck" "$work/b/ckpt.safetensors"  # a byte of exp_avg_sq of lm_head (stored near the end): resume refuses
printf '\x55' | dd of="$work/b/ckpt.safetensors" bs=1 seek=$((size - 200)) conv=notrunc status=none
if "$train" "${common[@]}" --out "$work/b" --resume > /dev/null 2> "$work/b4.err"; then fail "corrupt optimizer state accepted"; fi
grep -q "optimizer state fails its CRC-32" "$work/b4.err" || fail "unclear error: $(cat "$work/b4.err")"
head -c $((size / 2)) "$ck" > "$work/trunc.safetensors"
if "$gen" --ckpt "$work/trunc.safetensors" --tokens 3 > /dev/null 2> "$work/trunc.err"; then fail "truncated file accepted"; fi
grep -q "trunc.safetensors" "$work/trunc.err" || fail "truncated: unclear error: $(cat "$work/trunc.err")"
echo "garbage" > "$work/garbage.safetensors"
if "$gen" --ckpt "$work/garbage.safetensors" --tokens 3 > /dev/null 2> "$work/garbage.err"; then fail "garbage accepted"; fi
grep -q "garbage.safetensors" "$work/garbage.err" || fail "garbage: unclear error: $(cat "$work/garbage.err")"
echo "flip:    $(cat "$work/flip.err")"
echo "trunc:   $(cat "$work/trunc.err")"
echo "garbage: $(cat "$work/garbage.err")"
echo "lm_cli_smoke: ok"
