"""Reads analyze_mnist's decomposition export (interp/decomposition_export.hpp) with NumPy and
PyTorch only (json + numpy.frombuffer: the `safetensors` package is not installed, which also
makes this an independent reader of the byte layout) and checks it against the model weights:
the logits of a numpy forward pass equal sum_i lambda (pixels.x + offset)^2, the pixel pictures
are the eigenvectors through the embedding, and the HOSVD components reproduce the per-class
matrices. Usage: decomposition_export_check.py DIR (DIR holds decomposition.{json,safetensors}
and model.safetensors). Exit 0: all good; 1: a mismatch (printed); 77: numpy/torch missing."""
import json, sys

try:
    import numpy as np
    import torch
except Exception as e:  # noqa: BLE001
    print("cannot import numpy/torch:", e)
    sys.exit(77)

NP = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read(path):
    """(metadata, header, {name: array}) of a safetensors file; arrays view the file's bytes."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        blob = f.read()
    meta = header.pop("__metadata__", {})
    arrays = {k: np.ndarray(v["shape"], np.dtype(NP[v["dtype"]]).newbyteorder("<"), blob, v["data_offsets"][0])
              for k, v in header.items()}
    return meta, header, arrays


def expect(cond, what):
    if not cond:
        print("MISMATCH:", what)
        sys.exit(1)


d = sys.argv[1]
index = json.load(open(d + "/decomposition.json"))
expect(index["format"] == "bilin-results-1", "format %r" % index.get("format"))
meta, header, t = read(d + "/" + index["safetensors"])
expect(meta.get("index") == "decomposition.json", "metadata %r" % meta)
expect(set(index["tensors"]) == set(t), "index lists %r, file has %r" % (sorted(index["tensors"]), sorted(t)))
for name, info in index["tensors"].items():
    expect(list(t[name].shape) == info["shape"] and header[name]["dtype"] == info["dtype"], "entry " + name)
    expect(isinstance(info["description"], str) and info["description"], "description of " + name)
_, _, m = read(d + "/model.safetensors")
embed, w, v, head = (m[k].astype(np.float64) for k in ("embed", "w", "v", "head"))
C, n, D = index["classes"], index["form_size"], index["pixels"]
dd = index["layer_width"]
expect(len(index["class_names"]) == C, "class_names")
bw = m["bw"].astype(np.float64) if "bw" in m else 0.0
bv = m["bv"].astype(np.float64) if "bv" in m else 0.0
hb = m["head_bias"].astype(np.float64) if "head_bias" in m else 0.0
residual = "residual" in m and int(m["residual"][0]) == 1

rng = np.random.default_rng(0)
X = rng.standard_normal((50, D))
Z = X @ embed.T
G = (Z @ w.T + bw) * (Z @ v.T + bv)
if residual:
    G = G + Z
logits = G @ head.T + hb

lam = t["eigenvalues"].astype(np.float64)
pix = t["eigenvectors_pixels"].astype(np.float64)
vec = t["eigenvectors"].astype(np.float64)
off = t["offsets"].astype(np.float64)
expect(lam.shape == (C, n) and vec.shape == (C, n, n) and pix.shape == (C, n, D), "shapes")
recon = np.einsum("ci,nci->nc", lam, (np.einsum("cid,nd->nci", pix, X) + off[None]) ** 2)
err = np.abs(recon - logits).max() / max(1.0, np.abs(logits).max())
expect(err < 1e-4, "identity: relative error %g" % err)
expect(np.abs(np.einsum("cij,jd->cid", vec[:, :, :dd], embed) - pix).max() < 1e-5, "pixels = embed^T v")
expect(np.all(np.diff(lam, axis=1) <= 0), "eigenvalues descending")
Q = np.einsum("ci,cij,cik->cjk", lam, vec, vec)  # per-class matrices
expect(np.abs(np.einsum("cij,cik->cjk", vec, vec) - np.eye(n)[None]).max() < 1e-5, "orthonormal eigenvectors")

if "hosvd_singular_values" in t:
    s = t["hosvd_singular_values"]
    U = t["hosvd_directions"]
    gram = np.einsum("ajk,bjk->ab", Q, Q)
    ev = np.sort(np.linalg.eigvalsh(gram))[::-1]
    expect(np.allclose(s ** 2, np.maximum(ev, 0), rtol=1e-4, atol=1e-6 * ev[0]), "sigma^2 %r vs %r" % (s ** 2, ev))
    expect(np.abs(U @ U.T - np.eye(C)).max() < 1e-8, "HOSVD directions orthonormal")
    hl, hv = t["hosvd_eigenvalues"].astype(np.float64), t["hosvd_eigenvectors"].astype(np.float64)
    for k in range(hl.shape[0]):
        Rk = np.einsum("i,ij,ik->jk", hl[k], hv[k], hv[k])
        ref = np.einsum("c,cjk->jk", U[k], Q) / s[k]
        expect(np.abs(Rk - ref).max() < 1e-4 * np.abs(ref).max(), "HOSVD component %d matrix" % k)
    expect(np.abs(np.einsum("kij,jd->kid", hv[:, :, :dd], embed) - t["hosvd_eigenvectors_pixels"]).max() < 1e-5,
           "HOSVD pixels")

tv = torch.from_numpy(t["eigenvectors"].copy())
expect(tv.dtype == torch.float32 and tuple(tv.shape) == (C, n, n), "torch view")
print("python read the decomposition export correctly: identity rel err %.2e" % err)
