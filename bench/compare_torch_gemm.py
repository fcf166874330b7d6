#!/usr/bin/python3
"""bilin's bf16 GEMM against PyTorch's bf16 matmul (oneDNN) on the same shapes, same run.

    bench/compare_torch_gemm.py BUILD_DIR [--threads 1,2] [--reps 9] [--shape MxNxK]...

bilin's side is `BUILD_DIR/bench/compare_gemm --precision bf16 --json` (fp32 operands rounded
while packing, as training calls it). PyTorch is timed two ways: `a.bfloat16() @ b.bfloat16()`
from the same fp32 operands (the conversion counted, as bilin's contract has it) and `a @ b` on
operands already in bf16 (PyTorch's best case: no conversion at all). PyTorch's thread count is
set with torch.set_num_threads; each value is the median of --reps timed calls after a warm-up.
Rounds alternate bilin and PyTorch (one compare_gemm run, then PyTorch, per round) and the
medians over rounds are reported, so both see the same machine state.
Prints a table and one JSON line per (shape, threads) with "bilin_gflops",
"torch_bf16_gflops" (conversion counted), "torch_bf16_preconverted_gflops" and the ratios.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


def torch_times(shape, threads, reps):
    import torch
    torch.set_num_threads(threads)
    m, n, k = shape
    g = torch.Generator().manual_seed(m * 1000003 + n * 1009 + k)
    a = torch.rand(m, k, generator=g) * 2 - 1
    b = torch.rand(k, n, generator=g) * 2 - 1
    ab, bb = a.bfloat16(), b.bfloat16()
    flops = 2.0 * m * n * k
    out = {}
    for name, fn in (("convert", lambda: a.bfloat16() @ b.bfloat16()), ("preconverted", lambda: ab @ bb)):
        fn()
        fn()
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        out[name] = flops / statistics.median(ts) * 1e-9
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--shape", action="append", default=[])
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    shapes = [tuple(int(x) for x in s.split("x")) for s in args.shape] or [
        (1024, 1024, 1024), (2048, 512, 784), (2048, 1024, 512), (4096, 1024, 256)]
    exe = args.build_dir.rstrip("/") + "/bench/compare_gemm"
    cmd = [exe, "--precision", "bf16", "--json", "--reps", str(max(7, args.reps)), "--threads", args.threads]
    for m, n, k in shapes:
        cmd += ["--shape", "%dx%dx%d" % (m, n, k)]
    bilin, torch_conv, torch_pre = {}, {}, {}
    peak = {}
    for r in range(args.rounds):
        res = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        for line in res.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                key = (row["shape"], row["threads"])
                bilin.setdefault(key, []).append(row["bilin_gflops"])
                peak[key] = row
        for s in shapes:
            for t in threads:
                key = ("%dx%dx%d" % s, t)
                tt = torch_times(s, t, args.reps)
                torch_conv.setdefault(key, []).append(tt["convert"])
                torch_pre.setdefault(key, []).append(tt["preconverted"])
        print("round %d/%d done" % (r + 1, args.rounds), file=sys.stderr)
    import torch
    print("compare_torch_gemm: bf16 GEMM, GFLOP/s, medians of %d rounds; PyTorch %s (oneDNN); bilin backend %s"
          % (args.rounds, torch.__version__, next(iter(peak.values()))["backend"]))
    print("%-16s %2s %9s %11s %13s %9s %9s %10s" % ("shape MxNxK", "T", "bilin", "torch(cvt)", "torch(no cvt)",
                                                   "b/t(cvt)", "b/t(pre)", "bf16 peak"))
    rows = []
    for key in bilin:
        b = statistics.median(bilin[key])
        tc = statistics.median(torch_conv[key])
        tp = statistics.median(torch_pre[key])
        pk = peak[key]["peak_gflops"]
        print("%-16s %2d %9.1f %11.1f %13.1f %9.2f %9.2f %10.1f" % (key[0], key[1], b, tc, tp, b / tc, b / tp, pk))
        rows.append({"shape": key[0], "threads": key[1], "bilin_gflops": round(b, 2), "torch_bf16_gflops": round(tc, 2),
                     "torch_bf16_preconverted_gflops": round(tp, 2), "bilin_over_torch": round(b / tc, 4),
                     "bilin_over_torch_preconverted": round(b / tp, 4), "peak_gflops": pk,
                     "backend": peak[key]["backend"], "rounds": args.rounds})
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
