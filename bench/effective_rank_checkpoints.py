#!/usr/bin/env python3
# bench/effective_rank_checkpoints.py CKPT... — effective rank (sum|l|)^2/sum l^2 and top-2 energy of
# every layer's Q(u) = sym(W^T diag(P^T u) V) for 256 unembedding rows and 64 random directions,
# per train_tinylm checkpoint, against simulated GOE matrices (NumPy, float64). No SAE needed,
# so it follows the spectra across a training run (README: "Effective rank").
import json, struct, sys, numpy as np
def load(p):
    f = open(p, 'rb'); n = struct.unpack('<Q', f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n
    out = {}
    for k, v in h.items():
        if k == '__metadata__' or not (k.startswith('transformer.h.') and '.mlp.' in k or k == 'lm_head.weight'): continue
        a, b = v['data_offsets']; f.seek(base + a)
        out[k] = np.frombuffer(f.read(b - a), dtype=np.float32).reshape(v['shape']).astype(np.float64)
    return out
def stats(Q):
    l = np.linalg.eigvalsh(Q); a = np.abs(l); s = np.sort(a)[::-1]
    return (a.sum() ** 2) / (l ** 2).sum(), (s[:2] ** 2).sum() / (l ** 2).sum()
goe_cache = {}
def goe(d):  # median (effective rank, top-2 energy) of 32 GOE matrices of size d
    if d not in goe_cache:
        g = np.random.default_rng(1)
        v = []
        for _ in range(32):
            A = g.standard_normal((d, d)); v.append(stats((A + A.T) / 2))
        goe_cache[d] = np.median(np.array(v), axis=0)
        print(f"GOE n={d}: eff.rank {goe_cache[d][0]:.1f}, top-2 energy {goe_cache[d][1]*100:.2f}%")
    return goe_cache[d]
if len(sys.argv) < 2: sys.exit(__doc__ or "usage: effective_rank_checkpoints.py CKPT...")
for p in sys.argv[1:]:
    t = load(p); U = t['lm_head.weight']; V_, d = U.shape
    g0 = goe(d)
    rng = np.random.default_rng(0)
    rows = rng.choice(V_, min(256, V_), replace=False); rand = rng.standard_normal((64, d))
    layers = sorted({int(k.split('.')[2]) for k in t if k.startswith('transformer.h.')})
    for L in layers:
        up = t[f'transformer.h.{L}.mlp.up.weight']; P = t[f'transformer.h.{L}.mlp.down.weight']
        h = up.shape[0] // 2; W, V = up[:h], up[h:]
        res = {}
        for name, dirs in (('unembed', U[rows]), ('random', rand)):
            er = []; e2 = []
            for u in dirs:
                c = P.T @ u; M = W.T @ (c[:, None] * V); Q = (M + M.T) / 2
                r, e = stats(Q); er.append(r); e2.append(e)
            res[name] = (np.median(er), np.median(e2))
        print(f"{p} layer {L}: unembed ER {res['unembed'][0]:.1f} ({res['unembed'][0]/g0[0]:.2f}x GOE) top2 {res['unembed'][1]*100:.1f}%; "
              f"random ER {res['random'][0]:.1f} ({res['random'][0]/g0[0]:.2f}x) top2 {res['random'][1]*100:.1f}%", flush=True)
