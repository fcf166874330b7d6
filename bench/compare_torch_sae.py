#!/usr/bin/python3
"""One TopK-SAE training step: PyTorch (the official SAE) vs bilin, same run, same threads.

    python3 bench/compare_torch_sae.py [BUILD_DIR] [--threads 2] [--steps 10] [--repeats 3]
        [--d 256] [--expansion 4] [--k 30] [--batch 4096]
        [--torch-env default|avx512|both] [--torch-spins 10000,1000,default]

BUILD_DIR defaults to build/release; bilin runs BUILD_DIR/examples/train_sae --time-steps N (one
step = TopK encode, sparse decode, MSE, backward, ConstrainedAdam with the decoder-column
projection and renormalisation) and BUILD_DIR/bench/fma_peak for the machine's fp32 FMA peak.

PyTorch runs OfficialSAE below, a reimplementation of tdooms/bilinear-decomposition
src/sae/sae.py: h = TopK(W_enc(x - b_dec)) scattered into a dense [batch, n] code (no ReLU),
x_hat = W_dec h + b_dec, MSE loss, ConstrainedAdam (Adam; the gradient's component along each
decoder column removed before the step, columns renormalised after) with CosineAnnealingLR to
2e-5. Like the official code its decoder and encoder-gradient GEMMs are dense.

Both sides use the same thread count and runtime settings (GLIBC_TUNABLES=glibc.malloc.hugetlb=1,
GOMP_SPINCOUNT=10000, what train_sae gives itself); PyTorch is additionally timed in every
combination of --torch-env (OPENBLAS_CORETYPE as given, and unset) and --torch-spins, and bilin
is compared with its fastest configuration. Runs are interleaved (torch configs, bilin, torch
configs, bilin, ...) and the median step time of each side over all timed steps is reported.

FLOP counts: bilin's step does the dense encoder GEMM (2 B n d) plus four k-sparse products
(decode, its input gradient, the decoder and encoder weight gradients: 8 B k d); PyTorch's does
five dense GEMMs (10 B n d). fraction_of_peak = FLOP per step / step time / measured peak.
Output: one JSON line with bilin_steps_per_s, torch_steps_per_s, ratio, the peak, the fractions,
threads, the load average.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# re-exec under a python with torch and the runtime settings train_sae gives itself
from compare_torch_lm import ensure_interpreter, peer_env  # noqa: E402


def official_sae_classes():
    """OfficialSAE and ConstrainedAdam, as in the official src/sae/sae.py (also used by
    tests/sae_torch_check.py)."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    class OfficialSAE(nn.Module):
        def __init__(self, d, n, k):
            super().__init__()
            self.k = k
            self.w_enc = nn.Linear(d, n, bias=False)
            self.w_dec = nn.Linear(n, d, bias=False)
            self.b_dec = nn.Parameter(torch.zeros(d))
            with torch.no_grad():
                self.w_dec.weight /= self.w_dec.weight.norm(dim=0, keepdim=True)
                self.w_enc.weight.copy_(self.w_dec.weight.T)

        def encode(self, x):
            pre = self.w_enc(x - self.b_dec)
            top = torch.topk(pre, self.k, dim=-1)
            return torch.zeros_like(pre).scatter(-1, top.indices, top.values)

        def decode(self, h):
            return self.w_dec(h) + self.b_dec

        def forward(self, x):
            return self.decode(self.encode(x))

        def loss(self, x):
            return F.mse_loss(self(x), x)

    class ConstrainedAdam(torch.optim.Adam):
        def __init__(self, params, constrained_params, lr):
            super().__init__(params, lr=lr)
            self.constrained_params = list(constrained_params)

        def step(self, closure=None):
            with torch.no_grad():
                for p in self.constrained_params:
                    normed = p / p.norm(dim=0, keepdim=True)
                    p.grad -= (p.grad * normed).sum(dim=0, keepdim=True) * normed
            super().step(closure=closure)
            with torch.no_grad():
                for p in self.constrained_params:
                    p /= p.norm(dim=0, keepdim=True)

    return OfficialSAE, ConstrainedAdam


def torch_worker(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    OfficialSAE, ConstrainedAdam = official_sae_classes()
    n = args.d * args.expansion
    sae = OfficialSAE(args.d, n, args.k)
    opt = ConstrainedAdam(sae.parameters(), sae.w_dec.parameters(), lr=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=1000, eta_min=2e-5)
    x = torch.randn(args.batch, args.d)
    times = []
    for s in range(args.steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = sae.loss(x)
        loss.backward()
        opt.step()
        sched.step()
        loss.item()
        if s >= 2:
            times.append(time.perf_counter() - t0)
    print(json.dumps({"step_seconds": times}))


def run_bilin(args, binary):
    cmd = [binary, "--time-steps", str(args.steps), "--threads", str(args.threads), "--d", str(args.d),
           "--expansion", str(args.expansion), "--k", str(args.k), "--batch", str(args.batch), "--seed", str(args.seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_torch(args, env_kind, spin):
    env = peer_env(env_kind, spin)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker"] + [a for a in sys.argv[1:] if a != "--worker"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build_dir", nargs="?", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--d", type=int, default=256)
    p.add_argument("--expansion", type=int, default=4)
    p.add_argument("--k", type=int, default=30)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-env", choices=["default", "avx512", "both"], default="both")
    p.add_argument("--torch-spins", default="10000,1000,default")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return torch_worker(args)

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = args.build_dir or os.path.join(root, "build", "release")
    binary = os.path.join(build, "examples", "train_sae")
    peak_bin = os.path.join(build, "bench", "fma_peak")
    for b, target in ((binary, "train_sae"), (peak_bin, "fma_peak")):
        if not os.access(b, os.X_OK):
            raise SystemExit("compare_torch_sae: %s not found; build the %s target first" % (b, target))
    envs = ["default", "avx512"] if args.torch_env == "both" else [args.torch_env]
    spins = [x.strip() for x in args.torch_spins.split(",") if x.strip()]
    configs = {"%s/spin=%s" % (e, sp): (e, sp) for e in envs for sp in spins}
    bilin_times, torch_times = [], {c: [] for c in configs}
    for _ in range(args.repeats):
        for c, (e, sp) in configs.items():
            torch_times[c] += run_torch(args, e, sp)["step_seconds"]
        bilin_times += run_bilin(args, binary)["step_seconds"]
    peak = json.loads(subprocess.run([peak_bin, "--threads", str(args.threads)], check=True, capture_output=True,
                                     text=True).stdout.strip().splitlines()[-1])["gflops"]

    n = args.d * args.expansion
    bilin_flop = 2.0 * args.batch * n * args.d + 8.0 * args.batch * args.k * args.d
    torch_flop = 10.0 * args.batch * n * args.d
    bilin_med = statistics.median(bilin_times)
    torch_med = {c: statistics.median(t) for c, t in torch_times.items()}
    best = min(torch_med, key=torch_med.get)
    result = {
        "bilin_steps_per_s": round(1.0 / bilin_med, 3),
        "torch_steps_per_s": round(1.0 / torch_med[best], 3),
        "ratio": round(torch_med[best] / bilin_med, 2),
        "fma_peak_gflops": round(peak, 1),
        "bilin_gflops": round(bilin_flop / bilin_med / 1e9, 1),
        "bilin_fraction_of_peak": round(bilin_flop / bilin_med / 1e9 / peak, 3) if peak > 0 else None,
        "torch_gflops": round(torch_flop / torch_med[best] / 1e9, 1),
        "torch_fraction_of_peak": round(torch_flop / torch_med[best] / 1e9 / peak, 3) if peak > 0 else None,
        "threads": args.threads,
        "torch_config": best,
        "torch_steps_per_s_by_config": {c: round(1.0 / v, 3) for c, v in torch_med.items()},
        "bilin_step_seconds": [round(t, 4) for t in bilin_times],
        "config": {"d": args.d, "n_latents": n, "k": args.k, "batch": args.batch},
        "loadavg": os.getloadavg(),
        "torch_version": __import__("torch").__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    ensure_interpreter()
    main()
