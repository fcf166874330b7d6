#!/usr/bin/python3
"""Seconds per epoch of the paper's MNIST model: PyTorch CPU vs bilin, same run, same threads.

    bench/compare_torch_mnist.py BUILD_DIR [--threads 2] [--batches 2048,256] [--epochs 3]
                                 [--repeats 2] [--dataset mnist] [--torch-env default|avx512|both]
                                 [--torch-spins default,10000,1000] [--precisions fp32,bf16]
                                 [--full] [--full-epochs 20]

Both sides train the same model (embed 784→512, bilinear 512→512, head 512→10, no biases),
with the same optimizer (AdamW lr 1e-3, wd 0.5, cosine per epoch), batch size, drop_last,
input noise (std 0.4 on each sample with probability 0.5, as kornia's RandomGaussianNoise used
by the official code) and thread count. An "epoch" is one pass over the 60000 training images
plus the evaluation of the 10000 test images, timed the same way on both sides. PyTorch gets its
best data path (tensors indexed by a random permutation, no per-sample Python collate).

bilin runs BUILD_DIR/examples/train_mnist; PyTorch runs in a child process of this script so
its environment can be chosen. Both sides get the same OpenMP wait policy (--omp-wait-policy,
default: libgomp's own, spin then sleep; both use libgomp). The BLAS
environment of PyTorch: "default" keeps the environment as is (here
OPENBLAS_CORETYPE=Haswell, i.e. AVX2 kernels), "avx512" unsets OPENBLAS_CORETYPE. Each BLAS
environment is also timed with each --torch-spins value of GOMP_SPINCOUNT (default: libgomp's
own, 10000, 1000): PyTorch runs an OpenMP pool and OpenBLAS's own threads on the same 2 cores,
and with libgomp's default spinning its epoch takes 2-3x longer than with a short spin, so the
comparison is against the fastest configuration (bilin keeps its defaults). Runs are
interleaved (torch, bilin, torch, bilin, ...) and the median over all timed epochs is reported
(the first epoch of every run is a warm-up and not counted).

Precisions (--precisions, default fp32,bf16): fp32 is both sides in float32; bf16 is mixed
precision — PyTorch's training forward and loss under torch.autocast("cpu",
dtype=torch.bfloat16) (backward outside it, weights and AdamW float32), bilin with
train_mnist --precision bf16 (bf16 GEMM operands, fp32 accumulation). Both sides evaluate the
test set in float32, as the fp32 rows do. PyTorch gets the same search over BLAS environments and
spin counts at each precision; rows of both precisions are interleaved in one run.

--full additionally trains the full paper recipe (20 epochs) in PyTorch and in bilin at each
precision and prints the test accuracies.
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_torch_lm import peer_env  # noqa: E402


def read_idx(path):
    import numpy as np
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find_file(folder, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise SystemExit("compare_torch_mnist: %s[.gz] not found in %s" % (stem, folder))


def torch_worker(args):
    """Train in PyTorch; print one JSON line with per-epoch seconds and accuracies."""
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    d = args.data_dir
    xtr = torch.from_numpy(read_idx(find_file(d, "train-images-idx3-ubyte")).copy()).float().div_(255.0)
    ytr = torch.from_numpy(read_idx(find_file(d, "train-labels-idx1-ubyte")).astype(np.int64))
    xte = torch.from_numpy(read_idx(find_file(d, "t10k-images-idx3-ubyte")).copy()).float().div_(255.0)
    yte = torch.from_numpy(read_idx(find_file(d, "t10k-labels-idx1-ubyte")).astype(np.int64))
    xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)

    class Bilinear(nn.Linear):  # the official shared/components.py Bilinear (gate None)
        def forward(self, x):
            left, right = super().forward(x).chunk(2, dim=-1)
            return left * right

    class Model(nn.Module):  # the official src/image/model.py Model
        def __init__(self, d_in, d_hidden, d_out):
            super().__init__()
            self.embed = nn.Linear(d_in, d_hidden, bias=False)
            self.blocks = nn.ModuleList([Bilinear(d_hidden, 2 * d_hidden, bias=False)])
            self.head = nn.Linear(d_hidden, d_out, bias=False)

        def forward(self, x):
            x = self.embed(x)
            for layer in self.blocks:
                x = layer(x)
            return self.head(x)

    model = Model(784, args.hidden, 10)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    crit = nn.CrossEntropyLoss()
    bf16 = args.autocast == "bf16"
    B, n = args.batch, len(xtr)
    epochs = []
    for _ in range(args.epochs):
        c0, t0 = time.process_time(), time.perf_counter()
        model.train()
        perm = torch.randperm(n)
        for b in range(n // B):  # drop_last
            idx = perm[b * B:(b + 1) * B]
            x, y = xtr.index_select(0, idx), ytr.index_select(0, idx)
            if args.noise > 0:  # kornia RandomGaussianNoise(std, p): per-sample coin flip
                apply = (torch.rand(B, 1) < args.noise_p).float()
                x = x + torch.randn_like(x) * args.noise * apply
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # mixed precision: forward + loss
                loss = crit(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        t1 = time.perf_counter()
        model.eval()
        with torch.no_grad():
            logits = model(xte)
            test_loss = crit(logits, yte).item()
            test_acc = (logits.argmax(-1) == yte).float().mean().item()
        t2, c2 = time.perf_counter(), time.process_time()
        epochs.append({"train_seconds": t1 - t0, "eval_seconds": t2 - t1, "cpu_seconds": c2 - c0,
                       "test_acc": test_acc, "test_loss": test_loss})
    print(json.dumps({"epochs": epochs, "threads": torch.get_num_threads(), "torch": torch.__version__}))


def base_env(args):
    env = dict(os.environ)
    if args.omp_wait_policy != "default":
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    return env


def run_torch(args, batch, epochs, env_kind, spin="default", precision="fp32"):
    env = peer_env(env_kind, spin)
    if args.omp_wait_policy != "default":
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", "--data-dir", args.data_dir,
           "--batch", str(batch), "--epochs", str(epochs), "--threads", str(args.threads), "--seed", "42",
           "--hidden", "512", "--lr", "1e-3", "--wd", "0.5", "--noise", "0.4", "--noise-p", "0.5",
           "--autocast", precision]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["epochs"]


def run_bilin(args, batch, epochs, extra=()):
    exe = os.path.join(args.build_dir, "examples", "train_mnist")
    with tempfile.TemporaryDirectory(prefix="bilin_cmp_") as out:
        cmd = [exe, "--dataset", args.dataset, "--batch", str(batch), "--epochs", str(epochs),
               "--threads", str(args.threads), "--out", out, "--no-final-train-eval", *extra]
        res = subprocess.run(cmd, env=base_env(args), check=True, capture_output=True, text=True)
        summary = json.loads(res.stdout.strip().splitlines()[-1])
        with open(os.path.join(out, "metrics.jsonl")) as f:
            lines = [json.loads(l) for l in f if l.strip()]
    return summary, [{"train_seconds": l["train_seconds"], "eval_seconds": l["eval_seconds"],
                      "cpu_seconds": l["cpu_seconds"], "test_acc": l["test_acc"]} for l in lines]


def epoch_seconds(epochs):
    """(wall, cpu) seconds of the timed epochs; the first epoch of a run is a warm-up."""
    timed = epochs[1:] if len(epochs) > 1 else epochs
    return [(e["train_seconds"] + e["eval_seconds"], e["cpu_seconds"]) for e in timed]


def load1():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build_dir", nargs="?")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batches", default="2048,256")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--torch-env", default="both", choices=["default", "avx512", "both"])
    p.add_argument("--full", action="store_true")
    p.add_argument("--full-epochs", type=int, default=20)
    p.add_argument("--torch-spins", default="default,10000,1000",
                   help="GOMP_SPINCOUNT values PyTorch is timed with (default = libgomp's own); "
                        "its OpenMP threads and its OpenBLAS threads compete for the cores, and how long "
                        "idle OpenMP threads spin changes its speed by 2x here")
    p.add_argument("--omp-wait-policy", default="default", choices=["passive", "active", "default"])
    p.add_argument("--precisions", default="fp32,bf16",
                   help="comma-separated: fp32 (both sides float32), bf16 (PyTorch autocast bf16, bilin --precision bf16)")
    # worker mode (internal)
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--data-dir")
    p.add_argument("--batch", type=int, default=2048)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--wd", type=float, default=0.5)
    p.add_argument("--noise", type=float, default=0.4)
    p.add_argument("--noise-p", type=float, default=0.5)
    p.add_argument("--autocast", default="fp32", choices=["fp32", "bf16"])
    args = p.parse_args()
    if args.torch_worker:
        torch_worker(args)
        return
    if not args.build_dir:
        p.error("BUILD_DIR is required")
    try:
        import torch  # noqa: F401
    except ImportError as e:
        sys.exit("compare_torch_mnist: PyTorch is not importable by %s (%s)" % (sys.executable, e))

    # One short bilin run tells where the data is (bilin's own search order).
    summary, _ = run_bilin(args, 2048, 1, ("--max-steps", "1"))
    args.data_dir = summary["data_dir"]
    envs = ["default", "avx512"] if args.torch_env == "both" else [args.torch_env]
    spins = [x.strip() for x in args.torch_spins.split(",") if x.strip()]
    configs = [(e, sp) for e in envs for sp in spins]
    name = lambda e, sp: "torch-%s%s" % (e, "" if sp == "default" else "-spin" + sp)
    precisions = [x.strip() for x in args.precisions.split(",") if x.strip()]
    for pr in precisions:
        if pr not in ("fp32", "bf16"):
            sys.exit("compare_torch_mnist: --precisions: unknown precision '%s' (expected fp32 or bf16)" % pr)
    print("compare_torch_mnist: data %s, threads %d, %d epochs x %d repeats per side, OMP_WAIT_POLICY %s, "
          "load %.2f at start" % (args.data_dir, args.threads, args.epochs, args.repeats, args.omp_wait_policy,
                                  load1()), flush=True)

    rows = []
    for batch in [int(b) for b in args.batches.split(",")]:
        times = {pr: {"bilin": []} for pr in precisions}
        for pr in precisions:
            for e, sp in configs:
                times[pr][name(e, sp)] = []
        for _ in range(args.repeats):
            for pr in precisions:
                for e, sp in configs:
                    times[pr][name(e, sp)] += epoch_seconds(run_torch(args, batch, args.epochs, e, sp, pr))
                times[pr]["bilin"] += epoch_seconds(
                    run_bilin(args, batch, args.epochs, ("--precision", pr))[1])
        for pr in precisions:
            med = {k: statistics.median(w for w, _ in v) for k, v in times[pr].items()}
            cpu = {k: statistics.median(c for _, c in v) for k, v in times[pr].items()}
            best_torch = min(v for k, v in med.items() if k.startswith("torch"))
            rows.append((batch, pr, med, cpu, best_torch))
            print("batch %5d %s: " % (batch, pr)
                  + ", ".join("%s %.3f s/epoch (cpu %.3f s)" % (k, med[k], cpu[k]) for k in med)
                  + ", bilin/best-torch %.2f (load %.2f)" % (med["bilin"] / best_torch, load1()), flush=True)

    print()
    cols = [name(e, sp) for e, sp in configs]
    print("median wall seconds per epoch (train + test evaluation), CPU seconds (all threads) in brackets")
    print("| batch | precision | " + " | ".join("%s" % c for c in cols) + " | bilin | bilin / "
          + " | bilin / ".join(cols) + " |")
    print("|---:|---|" + "---:|" * (2 * len(cols) + 1))
    for batch, pr, med, cpu, best in rows:
        print("| %d | %s | " % (batch, pr) + " | ".join("%.3f (%.2f)" % (med[c], cpu[c]) for c in cols)
              + " | %.3f (%.2f) | " % (med["bilin"], cpu["bilin"])
              + " | ".join("%.2f" % (med["bilin"] / med[c]) for c in cols) + " |")
    print("\nbilin / fastest PyTorch configuration: " + ", ".join(
        "batch %d %s: %.2f" % (batch, pr, med["bilin"] / best) for batch, pr, med, cpu, best in rows))
    by = {(batch, pr): (med, best) for batch, pr, med, cpu, best in rows}
    for batch in sorted({b for b, _ in by}):
        if (batch, "fp32") in by and (batch, "bf16") in by:
            (m32, b32), (m16, b16) = by[(batch, "fp32")], by[(batch, "bf16")]
            print("batch %d: bf16 / fp32 epoch time: bilin %.2f, fastest PyTorch %.2f"
                  % (batch, m16["bilin"] / m32["bilin"], b16 / b32))

    if args.full:
        for pr in precisions:
            print("\nfull paper recipe (%d epochs, batch 2048, seed 42, %s):" % (args.full_epochs, pr), flush=True)
            t0 = time.perf_counter()
            te = run_torch(args, 2048, args.full_epochs, envs[-1], spins[-1], pr)
            t1 = time.perf_counter()
            summary, be = run_bilin(args, 2048, args.full_epochs, ("--precision", pr))
            t2 = time.perf_counter()
            print("  torch: test_acc %.4f (%.1f s)" % (te[-1]["test_acc"], t1 - t0))
            print("  bilin: test_acc %.4f (%.1f s)" % (summary["test_acc"], t2 - t1))
            print("  difference (bilin - torch): %+.2f points" % (100 * (summary["test_acc"] - te[-1]["test_acc"])))


if __name__ == "__main__":
    main()
