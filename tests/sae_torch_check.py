#!/usr/bin/python3
"""PyTorch side of tests/test_sae_torch.cpp: the official SAE (bench/compare_torch_sae.py's
OfficialSAE, a reimplementation of tdooms/bilinear-decomposition src/sae/sae.py) against bilin.

    sae_torch_check.py make DIR    writes DIR/official.safetensors (the official state dict, no
                                   metadata, as torch would save it) and DIR/torch_ref.safetensors
                                   (inputs x, their dense codes h and reconstructions x_hat)
    sae_torch_check.py check DIR   loads bilin's DIR/bilin.safetensors into OfficialSAE
                                   (load_state_dict strict, k from its 'sae_config' metadata),
                                   encodes DIR/bilin_ref.safetensors' x and compares h and x_hat
                                   with bilin's to 1e-5 relative; exit status 1 on a mismatch

The Debian python has torch but not the safetensors package, so files are written by hand
(8-byte header length, JSON header, raw little-endian data) and read with compare_torch_lm's reader.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from compare_torch_lm import read_safetensors as read_numpy_safetensors  # noqa: E402
from compare_torch_sae import official_sae_classes  # noqa: E402
from official_lm_torch import write_safetensors  # noqa: E402

D, N, K, B = 32, 128, 8, 64


def read_safetensors(path):
    arrays, meta = read_numpy_safetensors(path)
    return {name: torch.from_numpy(a) for name, a in arrays.items()}, meta


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def make(d):
    OfficialSAE, _ = official_sae_classes()
    torch.manual_seed(0)
    sae = OfficialSAE(D, N, K)
    with torch.no_grad():  # as after training: untied weights, a non-zero decoder bias
        sae.w_enc.weight += 0.1 * torch.randn_like(sae.w_enc.weight)
        sae.b_dec += 0.2 * torch.randn(D)
    write_safetensors(os.path.join(d, "official.safetensors"), sae.state_dict())
    x = torch.randn(B, D) * 1.5 + 0.3
    with torch.no_grad():
        h = sae.encode(x)
        write_safetensors(os.path.join(d, "torch_ref.safetensors"), {"x": x, "h": h, "x_hat": sae.decode(h)})


def check(d):
    OfficialSAE, _ = official_sae_classes()
    sd, meta = read_safetensors(os.path.join(d, "bilin.safetensors"))
    cfg = json.loads(meta["sae_config"])
    sae = OfficialSAE(cfg["d"], cfg["n_latents"], cfg["k"])
    sae.load_state_dict(sd, strict=True)
    ref, _ = read_safetensors(os.path.join(d, "bilin_ref.safetensors"))
    with torch.no_grad():
        h = sae.encode(ref["x"])
        x_hat = sae.decode(h)
    errs = {"h": rel(h, ref["h"]), "x_hat": rel(x_hat, ref["x_hat"])}
    print(json.dumps(errs))
    sys.exit(0 if max(errs.values()) <= 1e-5 else 1)


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
