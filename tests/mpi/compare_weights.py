#!/usr/bin/env python3
"""Compare the tensors of two safetensors files (the MPI tests' reference check).

compare_weights.py A B --rtol X   -> every tensor of A and B has the same names and shapes and
                                      ||a-b|| / ||a|| <= X (per tensor, 2-norm); --rtol 0 asks for
                                      the same bytes. Prints the worst norm-wise and the worst
                                      element-wise (max|a-b| / max|a|) difference; exit 1 on a
                                      mismatch. The norm-wise measure is the criterion because
                                      Adam turns a rounding-level change of a near-zero gradient
                                      entry into a step of about lr for that one entry. Reads the format directly (8-byte header
                                      length, JSON header, raw data), so it needs only NumPy.
"""
import argparse, json, struct, sys
import numpy as np

DT = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "F16": np.float16,
      "U8": np.uint8, "BF16": None}

def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        raw = data[a:b]
        dt = DT[v["dtype"]]
        out[k] = np.frombuffer(raw, dtype=dt).reshape(v["shape"]) if dt is not None else np.frombuffer(raw, np.uint8)
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a"); ap.add_argument("b")
    ap.add_argument("--rtol", type=float, required=True)
    ap.add_argument("--only", default="", help="compare only tensors whose name starts with this")
    args = ap.parse_args()
    A, B = read(args.a), read(args.b)
    names = sorted(k for k in A if k.startswith(args.only))
    if names != sorted(k for k in B if k.startswith(args.only)) or not names:
        print(f"tensor names differ: {sorted(A)} vs {sorted(B)}"); return 1
    worst, worst_name, worst_elem = 0.0, "", 0.0
    for k in names:
        a, b = A[k], B[k]
        if a.shape != b.shape:
            print(f"{k}: shapes {a.shape} vs {b.shape}"); return 1
        if args.rtol == 0:
            if a.tobytes() != b.tobytes():
                print(f"{k}: not bit-identical (max abs diff {np.max(np.abs(a.astype(np.float64) - b)):.3g})"); return 1
            continue
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        r = float(np.linalg.norm(a64 - b64) / max(np.linalg.norm(a64), 1e-30))
        worst_elem = max(worst_elem, float(np.max(np.abs(a64 - b64)) / max(np.max(np.abs(a64)), 1e-30)))
        if r > worst:
            worst, worst_name = r, k
    if args.rtol == 0:
        print(f"{len(names)} tensors bit-identical"); return 0
    print(f"{len(names)} tensors, worst relative difference ||a-b||/||a|| {worst:.3g} ({worst_name}), "
          f"tolerance {args.rtol:g}; element-wise max|a-b|/max|a| {worst_elem:.3g}")
    return 0 if worst <= args.rtol else 1

if __name__ == "__main__":
    sys.exit(main())
