#!/usr/bin/python3
"""Training throughput of the paper's language model: PyTorch CPU vs bilin, same run, same threads.

    python3 bench/compare_torch_lm.py [BUILD_DIR] [--threads 2] [--steps 6] [--repeats 2]
        [--vocab 4096] [--layers 4] [--d-model 256] [--heads 4] [--hidden 1024] [--ctx 256]
        [--batch 16] [--mlp bilinear] [--torch-env default|avx512|both] [--torch-spins 10000,1000,default]
        [--precisions fp32,bf16] [--no-check]

BUILD_DIR defaults to build/release (the README's build); bilin runs
BUILD_DIR/examples/train_tinylm --time-steps N (random tokens; one step = forward, backward,
gradient clipping and an AdamW update of every parameter).

PyTorch builds the same model as the official code (tdooms/bilinear-decomposition
src/language/transformer.py): token embedding; blocks x += attn(n1(x))/sqrt(2 n_layer),
x += mlp(n2(x)) with weight-less RMSNorm (eps 1e-8), fused qkv projection, rotary embeddings
(rotate_half), causal softmax attention, bilinear MLP (Linear d -> 2h, left * right, Linear
h -> d), final norm, untied lm_head; no biases. torch 1.13 has no scaled_dot_product_attention,
so attention is the eager masked softmax the official code uses at evaluation. Optimizer:
AdamW(lr 1e-3, betas (0.9, 0.95), wd 0.1) after clip_grad_norm_(1.0), cross-entropy on the
logits. Both sides use the same thread count and the same runtime settings: this script sets
GLIBC_TUNABLES=glibc.malloc.hugetlb=1 and GOMP_SPINCOUNT=10000 (what train_tinylm gives itself,
see examples/lm_common.hpp) for itself, so the PyTorch worker and the bilin binary inherit them.

PyTorch is timed in every combination of --torch-env (default: both, i.e. OPENBLAS_CORETYPE as
given and unset; one when it is not set), --torch-spins (GOMP_SPINCOUNT for its run only; its
OpenMP pool and OpenBLAS's own threads share the 2 cores, so the spin length changes its speed by
up to 2x) and --torch-malloc (glibc's default, and "keep": freed memory stays in the heap, as a
caching allocator would keep it; PyTorch's CPU allocator has none, and without it its step times
have long tails), and bilin is compared with the fastest configuration. bilin is timed at each
of --bilin-spins (default 10000, what train_tinylm sets, then libgomp's default): "ratio" is
bilin at 10000 against PyTorch's best, "ratio_best_to_best" bilin's fastest against it.

Precisions (--precisions, default fp32,bf16): fp32 is both sides in float32; bf16 is mixed
precision — PyTorch's forward and loss under torch.autocast("cpu", dtype=torch.bfloat16)
(backward outside it, as PyTorch recommends; its master weights and AdamW stay float32), bilin
with train_tinylm --precision bf16 (bf16 GEMM operands, fp32 accumulation, fp32 weights and
optimizer). PyTorch gets the same search over --torch-env x --torch-spins x --torch-malloc at
each precision.

Check (unless --no-check): bilin dumps its initial weights and two warm-up batches; PyTorch loads
them, computes the loss of batch 0, takes one AdamW step and computes the loss of batch 1. Both
losses must match bilin's (float32, relative difference < 1e-4): the two programs train the
same model with the same update.

Runs are interleaved (torch, bilin, torch, bilin, ... for each precision in turn) and the
median step time over all timed steps of each side is reported. Output: one JSON line with
bilin_tokens_per_s, torch_tokens_per_s, ratio (the fp32 row, as before), "precisions": one such
row per precision (bf16's also with bilin_over_bilin_fp32 and torch_over_torch_fp32), threads,
the model config, the check result (fp32) and the load average.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

TUNABLE = "glibc.malloc.hugetlb=1"


def ensure_interpreter():
    """Re-exec under Debian's python (which has torch) when the current one lacks it, and with
    the runtime environment train_tinylm gives itself (huge-page malloc, GOMP_SPINCOUNT=10000),
    so PyTorch (also OpenMP/libgomp) runs under exactly the same settings."""
    need_env = TUNABLE not in os.environ.get("GLIBC_TUNABLES", "") or (
        "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ)
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    if have_torch and not need_env:
        return
    if not have_torch and (sys.executable == "/usr/bin/python3" or os.environ.get("BILIN_LM_REEXEC")):
        raise SystemExit("compare_torch_lm: PyTorch is not importable (install python3-torch)")
    env = dict(os.environ)
    env["GLIBC_TUNABLES"] = (env["GLIBC_TUNABLES"] + ":" if env.get("GLIBC_TUNABLES") else "") + TUNABLE
    if "GOMP_SPINCOUNT" not in env and "OMP_WAIT_POLICY" not in env:
        env["GOMP_SPINCOUNT"] = "10000"
    env["BILIN_LM_REEXEC"] = "1"
    exe = sys.executable if have_torch else "/usr/bin/python3"
    os.execve(exe, [exe] + sys.argv, env)


def read_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
    out = {}
    base = 8 + n
    for name, h in header.items():
        b, e = h["data_offsets"]
        out[name] = np.frombuffer(raw[base + b: base + e], dtype=dtypes[h["dtype"]]).reshape(h["shape"]).copy()
    return out, meta


def build_torch_model(cfg):
    import torch
    from torch import nn
    import torch.nn.functional as F

    n_head, d_model, n_ctx = cfg["heads"], cfg["d_model"], cfg["ctx"]
    d_head = d_model // n_head

    class RMSNorm(nn.Module):  # official shared/components.py RMSNorm
        def forward(self, x):
            return x * torch.rsqrt(torch.mean(x.pow(2), dim=-1, keepdim=True) + 1e-8)

    def rotate_half(x):
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((-x2, x1), dim=-1)

    inv_freq = 1.0 / (10000 ** (torch.arange(0, d_head, 2).double() / d_head))
    freqs = torch.einsum("i,j->ij", torch.arange(n_ctx).double(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos_all, sin_all = emb.cos().float()[None, None], emb.sin().float()[None, None]
    mask_all = torch.tril(torch.ones(n_ctx, n_ctx, dtype=torch.bool))

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
            self.o = nn.Linear(d_model, d_model, bias=False)

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = self.qkv(x).view(B, T, 3, n_head, d_head).permute(2, 0, 3, 1, 4).unbind(0)
            cos, sin = cos_all[:, :, :T], sin_all[:, :, :T]
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            s = (q @ k.transpose(-1, -2)) / (d_head ** 0.5)
            s = s.masked_fill(~mask_all[:T, :T], float("-inf"))
            z = torch.softmax(s, dim=-1) @ v
            return self.o(z.transpose(1, 2).reshape(B, T, d_model))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            kind = cfg["mlp"]
            gated = kind != "relu"
            self.w = nn.Linear(d_model, (2 if gated else 1) * cfg["hidden"], bias=False)
            self.p = nn.Linear(cfg["hidden"], d_model, bias=False)
            self.act = {"bilinear": None, "glu-silu": F.silu, "glu-relu": F.relu, "glu-gelu": F.gelu,
                        "relu": F.relu}[kind]
            self.gated = gated

        def forward(self, x):
            h = self.w(x)
            if self.gated:
                l, r = h.chunk(2, dim=-1)
                h = (l if self.act is None else self.act(l)) * r
            else:
                h = self.act(h)
            return self.p(h)

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = 1.0 / ((2.0 * cfg["layers"]) ** 0.5)
            self.attn, self.mlp, self.n1, self.n2 = Attention(), MLP(), RMSNorm(), RMSNorm()

        def forward(self, x):
            x = x + self.scale * self.attn(self.n1(x))
            return x + self.mlp(self.n2(x))

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(cfg["vocab"], d_model),
                h=nn.ModuleList([Layer() for _ in range(cfg["layers"])]),
                n_f=RMSNorm()))
            self.lm_head = nn.Linear(d_model, cfg["vocab"], bias=False)

        def forward(self, ids):
            x = self.transformer.wte(ids)
            for layer in self.transformer.h:
                x = layer(x)
            return self.lm_head(self.transformer.n_f(x))

    return Transformer()


def torch_worker(args):
    """Time PyTorch training steps; with --check-file, first verify against bilin's dump."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = vars(args)
    model = build_torch_model(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)

    bf16 = getattr(args, "autocast", "fp32") == "bf16"

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # mixed precision: forward + loss
            logits = model(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    result = {}
    if args.check_file:
        tensors, meta = read_safetensors(args.check_file)
        sd = {}
        for name, arr in tensors.items():
            if name.startswith("batch"):
                continue
            sd[name.replace(".mlp.up.", ".mlp.w.").replace(".mlp.down.", ".mlp.p.")] = torch.from_numpy(arr)
        model.load_state_dict(sd, strict=True)
        b = [(torch.from_numpy(tensors["batch%d.inputs" % i]), torch.from_numpy(tensors["batch%d.targets" % i]))
             for i in range(2)]
        l0 = step(*b[0])
        l1 = step(*b[1])
        ref = (float(meta["loss0"]), float(meta["loss1"]))
        rel = max(abs(l0 - ref[0]) / abs(ref[0]), abs(l1 - ref[1]) / abs(ref[1]))
        result["check"] = {"torch_losses": [l0, l1], "bilin_losses": list(ref), "max_rel_diff": rel,
                           "ok": rel < 1e-4}
    g = torch.Generator().manual_seed(args.seed)
    times = []
    import time
    for s in range(args.steps + 2):
        x = torch.randint(0, args.vocab, (args.batch, args.ctx), generator=g)
        y = torch.randint(0, args.vocab, (args.batch, args.ctx), generator=g)
        t0 = time.perf_counter()
        step(x, y)
        if s >= 2:
            times.append(time.perf_counter() - t0)
    result["step_seconds"] = times
    print(json.dumps(result))


def run_bilin(args, binary, dump=None, steps=None, precision="fp32", spin=None):
    cmd = [binary, "--time-steps", str(steps or args.steps), "--threads", str(args.threads), "--vocab", str(args.vocab),
           "--layers", str(args.layers), "--d-model", str(args.d_model), "--heads", str(args.heads),
           "--hidden", str(args.hidden), "--ctx", str(args.ctx), "--batch", str(args.batch), "--mlp", args.mlp,
           "--seed", str(args.seed), "--precision", precision]
    if dump:
        cmd += ["--dump", dump]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=peer_env(None, spin)).stdout
    return json.loads(out.strip().splitlines()[-1])


# glibc malloc settings under which freed memory stays in the heap and is handed out again
# instead of being unmapped and mapped (and zeroed by the kernel) afresh every step: what a
# caching allocator does (bilin's tensors come from its own buffer pool).
MALLOC_KEEP = ("glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184:"
               "glibc.malloc.top_pad=268435456")


def peer_env(env_kind, spin=None, malloc=None):
    """The environment a PyTorch worker (or bilin) runs in: env_kind "avx512" lets OpenBLAS pick
    its own kernels (OPENBLAS_CORETYPE unset), "default" keeps the machine's; malloc "keep" adds
    MALLOC_KEEP to GLIBC_TUNABLES; spin "default" unsets GOMP_SPINCOUNT (libgomp's default),
    another value sets it, None leaves it as it is."""
    env = dict(os.environ)
    if env_kind == "avx512":
        env.pop("OPENBLAS_CORETYPE", None)
    if malloc == "keep":
        env["GLIBC_TUNABLES"] = (env["GLIBC_TUNABLES"] + ":" if env.get("GLIBC_TUNABLES") else "") + MALLOC_KEEP
    if spin == "default":
        env.pop("GOMP_SPINCOUNT", None)
    elif spin is not None:
        env["GOMP_SPINCOUNT"] = spin
    return env


def run_torch(args, env_kind, check_file=None, spin=None, precision="fp32", malloc=None):
    env = peer_env(env_kind, spin, malloc)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker"] + [a for a in sys.argv[1:] if a != "--worker"]
    cmd += ["--autocast", precision]
    if check_file:  # the check only; no timed steps
        cmd += ["--check-file", check_file, "--steps", "0"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build_dir", nargs="?", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--mlp", default="bilinear")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-env", choices=["default", "avx512", "both"], default="both")
    p.add_argument("--torch-spins", default="10000,1000,default",
                   help="GOMP_SPINCOUNT values PyTorch is timed with (default = libgomp's own); the "
                        "comparison uses its fastest configuration")
    p.add_argument("--torch-malloc", default="default,keep",
                   help="glibc malloc settings PyTorch is timed with: default (as inherited), keep (freed "
                        "memory is reused, not unmapped: PyTorch's CPU allocator has no cache of its own)")
    p.add_argument("--bilin-spins", default="10000,default",
                   help="GOMP_SPINCOUNT values bilin is timed with (10000 is what train_tinylm sets when "
                        "none is given); rows report bilin's default and its fastest")
    p.add_argument("--precisions", default="fp32,bf16",
                   help="comma-separated: fp32 (both sides float32), bf16 (PyTorch autocast bf16, bilin --precision bf16)")
    p.add_argument("--no-check", action="store_true")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--autocast", default="fp32", choices=["fp32", "bf16"], help=argparse.SUPPRESS)
    p.add_argument("--check-file", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return torch_worker(args)

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = args.build_dir or os.path.join(root, "build", "release")
    binary = os.path.join(build, "examples", "train_tinylm")
    if not os.access(binary, os.X_OK):
        raise SystemExit("compare_torch_lm: %s not found; build the train_tinylm target first "
                         "(cmake --build build/release --target train_tinylm)" % binary)
    envs = ["default", "avx512"] if args.torch_env == "both" else [args.torch_env]
    if "OPENBLAS_CORETYPE" not in os.environ and envs == ["default", "avx512"]:
        envs = ["default"]  # the two are the same environment
    precisions = [x.strip() for x in args.precisions.split(",") if x.strip()]
    for pr in precisions:
        if pr not in ("fp32", "bf16"):
            raise SystemExit("compare_torch_lm: --precisions: unknown precision '%s' (expected fp32 or bf16)" % pr)

    check = None
    if not args.no_check:
        with tempfile.TemporaryDirectory() as tmp:
            dump = os.path.join(tmp, "init.safetensors")
            run_bilin(args, binary, dump, steps=1)
            check = run_torch(args, envs[0], dump)["check"]

    spins = [x.strip() for x in args.torch_spins.split(",") if x.strip()]
    mallocs = [x.strip() for x in args.torch_malloc.split(",") if x.strip()]
    for m in mallocs:
        if m not in ("default", "keep"):
            raise SystemExit("compare_torch_lm: --torch-malloc: unknown setting '%s' (expected default or keep)" % m)
    configs = {"%s/spin=%s%s" % (e, sp, "" if m == "default" else "/malloc=" + m): (e, sp, m)
               for e in envs for sp in spins for m in mallocs}
    bilin_spins = [x.strip() for x in args.bilin_spins.split(",") if x.strip()] or ["10000"]
    bilin_times = {pr: {sp: [] for sp in bilin_spins} for pr in precisions}
    torch_times = {pr: {c: [] for c in configs} for pr in precisions}
    for _ in range(args.repeats):
        for pr in precisions:
            for c, (e, sp, m) in configs.items():
                torch_times[pr][c] += run_torch(args, e, spin=sp, precision=pr, malloc=m)["step_seconds"]
            for sp in bilin_spins:
                bilin_times[pr][sp] += run_bilin(args, binary, precision=pr, spin=sp)["step_seconds"]

    tokens = args.batch * args.ctx
    rows = {}
    for pr in precisions:
        bilin_by = {sp: tokens / statistics.median(t) for sp, t in bilin_times[pr].items()}
        bilin_best = max(bilin_by, key=bilin_by.get)
        bilin_default = bilin_spins[0]
        torch_tps = {e: tokens / statistics.median(t) for e, t in torch_times[pr].items()}
        best_env = max(torch_tps, key=torch_tps.get)
        rows[pr] = {
            "bilin_tokens_per_s": round(bilin_by[bilin_default], 1),
            "torch_tokens_per_s": round(torch_tps[best_env], 1),
            "ratio": round(bilin_by[bilin_default] / torch_tps[best_env], 2),
            "bilin_best_tokens_per_s": round(bilin_by[bilin_best], 1),
            "bilin_best_config": "spin=" + bilin_best,
            "ratio_best_to_best": round(bilin_by[bilin_best] / torch_tps[best_env], 2),
            "torch_config": best_env,
            "bilin_tokens_per_s_by_config": {"spin=" + sp: round(v, 1) for sp, v in bilin_by.items()},
            "torch_tokens_per_s_by_config": {e: round(v, 1) for e, v in torch_tps.items()},
            "bilin_step_seconds": {"spin=" + sp: [round(t, 4) for t in v] for sp, v in bilin_times[pr].items()},
            "torch_step_seconds": {e: [round(t, 4) for t in v] for e, v in torch_times[pr].items()},
        }
    if "fp32" in rows and "bf16" in rows:
        rows["bf16"]["bilin_over_bilin_fp32"] = round(rows["bf16"]["bilin_tokens_per_s"] / rows["fp32"]["bilin_tokens_per_s"], 2)
        rows["bf16"]["torch_over_torch_fp32"] = round(rows["bf16"]["torch_tokens_per_s"] / rows["fp32"]["torch_tokens_per_s"], 2)
    result = dict(rows.get("fp32", {}))
    result.update({
        "precisions": rows,
        "threads": args.threads,
        "config": {"vocab": args.vocab, "n_layer": args.layers, "d_model": args.d_model, "n_head": args.heads,
                   "d_hidden": args.hidden, "n_ctx": args.ctx, "batch": args.batch, "mlp": args.mlp},
        "check": check,
        "loadavg": os.getloadavg(),
        "env": {k: os.environ.get(k) for k in ("GLIBC_TUNABLES", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY",
                                              "OPENBLAS_CORETYPE")},
        "torch_version": __import__("torch").__version__,
    })
    print(json.dumps(result))
    if check is not None and not check["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    ensure_interpreter()
    main()
