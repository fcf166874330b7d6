#!/usr/bin/env bash
# interp_e2e.sh — the analysis programs end to end, as a user runs them.
#
#   tests/interp_e2e.sh BUILD_EXAMPLES_DIR WORK_DIR
#
# 1. toy_tasks writes its report (no data needed).
# 2. With MNIST: a short train_mnist run, then analyze_mnist on its checkpoint — the JSON line has
#    the agreed keys, the decomposition reproduces the logits, the analysis takes < 60 s.
# 3. With MNIST and /usr/bin/python3 + torch: a model trained in PyTorch with the official code's
#    layout (embed.weight, blocks.0.weight [2d, d], head.weight) is analyzed the same way.
# Every report is opened in headless Chromium (tests/report_screenshot.sh) when it is installed.
# Exit 0 = all ran parts passed; 1 = a failure.
set -euo pipefail
bin=${1:?usage: interp_e2e.sh BUILD_EXAMPLES_DIR WORK_DIR}
work=${2:?usage: interp_e2e.sh BUILD_EXAMPLES_DIR WORK_DIR}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"

fail() { echo "interp_e2e: FAILED: $*" >&2; exit 1; }

# json_check FILE PYTHON-EXPRESSION-ON-j : asserts on the last line of FILE (a JSON object).
json_check() {
  /usr/bin/env python3 - "$1" "$2" <<'EOF' || fail "check '$2' on $1"
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
ok = eval(sys.argv[2], {"j": j})
print("interp_e2e: %s -> %s" % (sys.argv[2], ok))
sys.exit(0 if ok else 1)
EOF
}

shot() {
  local rc=0
  "$here/report_screenshot.sh" "$1" "$2" 5000 || rc=$?
  if [[ $rc -eq 77 ]]; then echo "interp_e2e: (no chromium: screenshot skipped)"; elif [[ $rc -ne 0 ]]; then fail "screenshot of $1"; fi
}

# ---- 1. toy tasks
"$bin/toy_tasks" --out "$work/toy" --ops and,xor,nand --steps 600 > "$work/toy.json" || fail "toy_tasks"
json_check "$work/toy.json" 'j["tasks"]["and"]["max_abs_err_vs_exact"] < 0.1 and j["tasks"]["xor"]["final_loss"] < 0.01'
shot "$work/toy/report.html" "$work/toy.png"

# ---- 2. MNIST: train briefly, analyze
mnist=""
for d in "${BILIN_DATA:-}/mnist" "$here/../../shared/data/mnist"; do
  [[ -f $d/t10k-images-idx3-ubyte.gz || -f $d/t10k-images-idx3-ubyte ]] && { mnist=$(cd "$d" && pwd); break; }
done
if [[ -z $mnist ]]; then
  echo "interp_e2e: MNIST not found: MNIST parts skipped"
  exit 0
fi
"$bin/train_mnist" --dataset "$mnist" --out "$work/train" --max-steps 40 --batch 256 --no-final-train-eval \
  > "$work/train.json" 2> "$work/train.log" || fail "train_mnist (see $work/train.log)"
"$bin/analyze_mnist" --ckpt "$work/train/model.safetensors" --dataset "$mnist" --out "$work/analysis" \
  > "$work/analysis.json" 2> "$work/analysis.log" || fail "analyze_mnist (see $work/analysis.log)"
json_check "$work/analysis.json" \
  'all(k in j for k in ("exactness_max_abs_err","truncation_acc","adversarial","seconds","report")) and set(j["truncation_acc"]) == {"1","2","5","10","20","50","all"} and all(k in j["adversarial"] for k in ("norms","eigenvector","random","fgsm"))'
json_check "$work/analysis.json" 'j["exactness_max_rel_err"] < 2e-5 and j["test_acc"] > 0.8 and j["seconds"] < 60'
shot "$work/analysis/report.html" "$work/analysis.png"

# ---- 3. a model trained in PyTorch, official layout
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "interp_e2e: /usr/bin/python3 has no torch: PyTorch part skipped"
  exit 0
fi
/usr/bin/python3 - "$mnist" "$work/torch_model.safetensors" <<'EOF' || fail "PyTorch export"
import gzip, json, os, struct, sys
import numpy as np, torch
src, out = sys.argv[1], sys.argv[2]
def idx(name):
    p = os.path.join(src, name)
    raw = gzip.open(p + ".gz").read() if os.path.exists(p + ".gz") else open(p, "rb").read()
    nd = raw[3]
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)
x = torch.tensor(idx("train-images-idx3-ubyte").reshape(-1, 784), dtype=torch.float32) / 255
y = torch.tensor(idx("train-labels-idx1-ubyte").astype(np.int64))
torch.manual_seed(42)
d = 256
# The official Model: embed (no bias) -> Bilinear (one Linear d -> 2d, halves multiplied) -> head.
embed, block, head = torch.nn.Linear(784, d, bias=False), torch.nn.Linear(d, 2 * d, bias=False), torch.nn.Linear(d, 10, bias=False)
params = list(embed.parameters()) + list(block.parameters()) + list(head.parameters())
opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.5)
torch.set_num_threads(2)
for step in range(150):
    i = torch.randint(0, x.shape[0], (512,))
    xb = x[i] + 0.4 * torch.randn(512, 784)
    l, r = block(embed(xb)).chunk(2, dim=-1)
    loss = torch.nn.functional.cross_entropy(head(l * r), y[i])
    opt.zero_grad(); loss.backward(); opt.step()
header, blobs, off = {"__metadata__": {"exported_by": "pytorch " + torch.__version__}}, [], 0
for name, t in (("embed.weight", embed.weight), ("blocks.0.weight", block.weight), ("head.weight", head.weight)):
    raw = t.detach().contiguous().numpy().astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw); off += len(raw)
h = json.dumps(header).encode(); h += b" " * ((8 - len(h) % 8) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h); [f.write(b) for b in blobs]
print("interp_e2e: PyTorch model trained, final loss %.3f" % loss.item())
EOF
"$bin/analyze_mnist" --ckpt "$work/torch_model.safetensors" --dataset "$mnist" --out "$work/torch_analysis" \
  --adv-samples 300 > "$work/torch_analysis.json" 2> "$work/torch_analysis.log" || fail "analyze_mnist on the PyTorch export"
json_check "$work/torch_analysis.json" 'j["exactness_max_rel_err"] < 2e-5 and j["test_acc"] > 0.9 and j["truncation_acc"]["all"] == j["test_acc"]'
shot "$work/torch_analysis/report.html" "$work/torch_analysis.png"
echo "interp_e2e: all parts passed"
