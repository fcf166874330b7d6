#!/usr/bin/env python3
"""Scaling model of bilin's data-parallel training (README, "Distributed training").

Step time on N machines with global batch B, one rank per machine:
    T(N) = B / (N * r) + 2 (N - 1) / N * bytes / bw + 2 (N - 1) * alpha
where r is one machine's measured training rate (samples/s: images, or sequences for the LM),
bytes = 4 * parameters (float gradients, one ring allreduce per step, not overlapped with the
backward) and alpha the per-message latency. Efficiency = (B / (N r)) / T(N); the batch that
keeps it >= 0.9 is B >= 9 N r * t_comm. Usage:
    scaling_model.py --name mnist --params 930816 --rate 40000 --batch 2048 [--alpha 2e-5]
Prints a Markdown table for N = 8, 16, 32, 64 at 10 and 100 Gbit/s.
"""
import argparse

ap = argparse.ArgumentParser()
ap.add_argument("--name", required=True)
ap.add_argument("--params", type=float, required=True)
ap.add_argument("--rate", type=float, required=True, help="samples/s of one machine (measured)")
ap.add_argument("--batch", type=float, required=True, help="global batch (samples)")
ap.add_argument("--alpha", type=float, default=2e-5, help="latency per ring step, seconds")
ap.add_argument("--unit", default="samples")
a = ap.parse_args()
bytes_ = 4 * a.params
print(f"{a.name}: {a.params/1e6:.2f}M parameters ({bytes_/1e6:.1f} MB of gradients), one machine {a.rate:.4g} "
      f"{a.unit}/s, global batch {a.batch:g}\n")
print("| network | N | compute ms | allreduce ms | step ms | efficiency | batch for 90% |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for gbit in (10, 100):
    bw = gbit * 1e9 / 8
    for n in (8, 16, 32, 64):
        comp = a.batch / (n * a.rate)
        comm = 2 * (n - 1) / n * bytes_ / bw + 2 * (n - 1) * a.alpha
        eff = comp / (comp + comm)
        b90 = 9 * n * a.rate * comm
        print(f"| {gbit} Gbit/s | {n} | {comp*1e3:.2f} | {comm*1e3:.2f} | {(comp+comm)*1e3:.2f} | {eff:.0%} | {b90:,.0f} |")
