#!/usr/bin/python3
"""PyTorch side of tests/test_official_lm.cpp: a reimplementation of the paper's official
language model (tdooms/bilinear-decomposition src/language/transformer.py and
src/shared/components.py, with the `scale_attn` key of the authors' later bilinear-interp code)
and of its SAE (bench/compare_torch_sae.py's OfficialSAE), with the official module names, so
that its state dict is the official checkpoint layout.

    official_lm_torch.py make DIR SCALE DTYPE [SHAPE]   writes an official-layout folder DIR/model
        (config.json + model.safetensors + tokenizer.json, a 512-token WordPiece vocabulary with the
        ts-4096 pipeline; random weights; d_model 64, n_vocab 512, 2 layers,
        4 heads, d_hidden 256; "scale_attn": SCALE (0/1, or "absent" to leave the key out);
        weights stored as DTYPE F32 or BF16; SHAPE "ts-medium" instead gives the published
        ts-medium's shape: 6 layers, d_model 512, d_hidden 2048, 8 heads, n_vocab 4096, and a
        2048-feature k-30 SAEs at layer 4), official SAE folders DIR/sae/1-mlp-out-x4-k8 and
        DIR/sae/1-resid-mid-x4-k8 (config.json + model.safetensors, on mlp_out / resid_mid of layer 1) and DIR/ref.safetensors: the
        token ids, PyTorch's logits, its hook activations resid_mid.L, mlp_in.L, mlp_out.L
        (read with forward hooks on the official modules n2 and mlp) and the SAE's dense codes
        of mlp_out.1; DIR/stories.txt, 80 short stories of vocabulary words separated by blank
        lines.
    official_lm_torch.py check DIR              loads the folder DIR/export (written by bilin's
        save_official_lm) into the official model (load_state_dict strict), runs the ids of
        DIR/bilin_ref.safetensors and compares its logits with bilin's to 1e-5 relative; exit
        status 1 on a mismatch.

The Debian python has torch but not the safetensors package, so files are written here directly
(8-byte header length, JSON header, raw little-endian data).
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from compare_torch_lm import read_safetensors as read_numpy_safetensors  # noqa: E402
from compare_torch_sae import official_sae_classes  # noqa: E402


# ---------------------------------------------------------------- the official model
class RMSNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.eps = 1e-8

    def forward(self, x):
        return x * torch.rsqrt(torch.mean(x.pow(2), dim=-1, keepdim=True) + self.eps)


class Norm(nn.Module):
    def __init__(self, norm):
        super().__init__()
        self.norm = RMSNorm() if norm else nn.Identity()

    def forward(self, x):
        return self.norm(x)


GATES = {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU, None: nn.Identity}


class Bilinear(nn.Linear):
    def __init__(self, d_in, d_out, bias=False, gate=None):
        super().__init__(d_in, 2 * d_out, bias=bias)
        self.gate = GATES[gate]()

    def forward(self, x):
        left, right = super().forward(x).chunk(2, dim=-1)
        return self.gate(left) * right


class Linear(nn.Linear):
    def __init__(self, d_in, d_out, bias=False, gate=None):
        super().__init__(d_in, d_out, bias=bias)
        self.gate = GATES[gate]()

    def forward(self, x):
        return self.gate(super().forward(x))


class MLP(nn.Module):
    def __init__(self, d_model, d_hidden, bias=False, bilinear=True, gate=None):
        super().__init__()
        self.w = (Bilinear if bilinear else Linear)(d_model, d_hidden, bias=bias, gate=gate)
        self.p = nn.Linear(d_hidden, d_model, bias=bias)

    def forward(self, x):
        return self.p(self.w(x))


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Rotary(nn.Module):
    def __init__(self, dim, n_ctx, base=10000):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq)

    def forward(self, q, k):
        t = torch.arange(q.size(-2)).type_as(self.inv_freq)
        freqs = torch.einsum("i,j->ij", t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


class Attention(nn.Module):
    """The official Attention's evaluation path (explicit masked softmax)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg["d_model"]
        self.rotary = Rotary(d // cfg["n_head"], cfg["n_ctx"])
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.softmax = nn.Softmax(dim=-1)
        self.mask = torch.tril(torch.ones(cfg["n_ctx"], cfg["n_ctx"]))[None, None, :, :]

    def forward(self, x):
        B, T, D = x.shape
        H = self.cfg["n_head"]
        # 'batch seq (n n_head d_head) -> n batch n_head seq d_head'
        q, k, v = self.qkv(x).view(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4).unbind(0)
        q, k = self.rotary(q, k)
        scores = (q @ k.transpose(-1, -2)) / torch.tensor(q.size(-1)).sqrt()
        scores = scores.masked_fill(self.mask[:, :, :T, :T] == 0, -torch.inf)
        z = self.softmax(scores) @ v
        return self.o(z.transpose(1, 2).reshape(B, T, D))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        # released code: always scaled; bilinear-interp: `if config.scale_attn else 1.0`
        self.scale = 1.0 / ((2.0 * cfg["n_layer"]) ** 0.5) if cfg.get("scale_attn", True) else 1.0
        self.attn = Attention(cfg)
        self.mlp = MLP(cfg["d_model"], cfg["d_hidden"], bilinear=cfg.get("bilinear", True), gate=cfg.get("gate"),
                       bias=cfg.get("bias", False))
        self.n1 = Norm(cfg.get("normalization", True))
        self.n2 = Norm(cfg.get("normalization", True))

    def forward(self, x):
        x = x + self.scale * self.attn(self.n1(x))
        x = x + self.mlp(self.n2(x))
        return x


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(cfg["n_vocab"], cfg["d_model"]),
            h=nn.ModuleList([Layer(cfg) for _ in range(cfg["n_layer"])]),
            n_f=Norm(cfg.get("normalization", True))))
        self.lm_head = nn.Linear(cfg["d_model"], cfg["n_vocab"], bias=False)

    def forward(self, input_ids):
        x = self.transformer.wte(input_ids)
        for layer in self.transformer.h:
            x = layer(x)
        return self.lm_head(self.transformer.n_f(x))


def hooked_run(model, ids):
    """Logits and the Sight hook points resid_mid (n2's input), mlp_in (n2's output), mlp_out."""
    acts, handles = {}, []
    for i, layer in enumerate(model.transformer.h):
        def n2_hook(mod, inp, out, i=i):
            acts[f"resid_mid.{i}"] = inp[0].detach().clone()
            acts[f"mlp_in.{i}"] = out.detach().clone()

        def mlp_hook(mod, inp, out, i=i):
            acts[f"mlp_out.{i}"] = out.detach().clone()
        handles += [layer.n2.register_forward_hook(n2_hook), layer.mlp.register_forward_hook(mlp_hook)]
    with torch.no_grad():
        logits = model(ids)
    for h in handles:
        h.remove()
    return logits, acts


# ---------------------------------------------------------------- files
def write_safetensors(path, tensors, dtype="F32", metadata=None):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.int64:
            raw, dt = t.numpy().tobytes(), "I64"
        elif dtype == "BF16":
            raw, dt = t.float().to(torch.bfloat16).view(torch.int16).numpy().tobytes(), "BF16"
        else:
            raw, dt = t.float().numpy().astype(np.float32).tobytes(), "F32"
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


WORDS = ("once upon a time there was little girl boy named lily tom who loved to play with her his ball "
         "in the park one day she he saw big red dog and cat they were happy sad friends went home mom said "
         "not good bad very nice it is was".split())


def write_tokenizer(path, n_vocab):
    """A tokenizer.json like tdooms/ts-tokenizer-4096's (bilinear-interp stories-4096.json): the
    same normalizer, pre-tokenizer, post-processor and WordPiece model, a smaller vocabulary."""
    vocab = ["[UNK]", "[BOS]", "[EOS]"] + list("!\"',-.:;?") + [str(d) for d in range(10)]
    vocab += [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab += [w for w in dict.fromkeys(WORDS) if w not in vocab]
    vocab += ["tok%d" % i for i in range(n_vocab - len(vocab))]
    special = lambda i, t: {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                            "normalized": False, "special": True}
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [special(0, "[UNK]"), special(1, "[BOS]"), special(2, "[EOS]")],
           "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"},
                                                              {"type": "Lowercase"}]},
           "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
               {"type": "Punctuation", "behavior": "Isolated"}, {"type": "Whitespace"},
               {"type": "Digits", "individual_digits": True}]},
           "post_processor": {"type": "TemplateProcessing",
                              "single": [{"SpecialToken": {"id": "[BOS]", "type_id": 0}},
                                         {"Sequence": {"id": "A", "type_id": 0}}],
                              "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                              "special_tokens": {"[BOS]": {"id": "[BOS]", "ids": [1], "tokens": ["[BOS]"]}}},
           "decoder": None,
           "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                     "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(vocab)}}}
    with open(path, "w") as f:
        json.dump(tok, f, indent=2)


SHAPES = {  # model config, SAE (layer, expansion, k), reference batch
    "small": (dict(n_vocab=512, d_model=64, d_hidden=256, n_layer=2, n_head=4, n_ctx=64), (1, 4, 8), (3, 40)),
    "ts-medium": (dict(n_vocab=4096, d_model=512, d_hidden=2048, n_layer=6, n_head=8, n_ctx=256), (4, 4, 30), (1, 16)),
}


def make(out, scale, dtype, shape="small"):
    torch.manual_seed(1234 + (scale == "1"))
    dims, (sae_layer, sae_exp, sae_k), (batch, seq) = SHAPES[shape]
    cfg = dict(dims, bilinear=True, gate=None, bias=False, normalization=True, tokenizer=None,
               architectures=["Transformer"])
    if scale != "absent":
        cfg["scale_attn"] = scale == "1"
    model = Transformer(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(0, 0.3 if "wte" in name else 0.15 * (64 / cfg["d_model"]) ** 0.5)
            if dtype == "BF16":  # the reference runs on exactly the weights bilin reads
                p.copy_(p.to(torch.bfloat16).float())
    os.makedirs(os.path.join(out, "model"), exist_ok=True)
    with open(os.path.join(out, "model", "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_tokenizer(os.path.join(out, "model", "tokenizer.json"), cfg["n_vocab"])
    g = torch.Generator().manual_seed(5)
    with open(os.path.join(out, "stories.txt"), "w") as f:
        for _ in range(80 if shape == "small" else 1200):
            idx = torch.randint(0, len(WORDS), (30,), generator=g).tolist()
            f.write("Once upon a time, " + " ".join(WORDS[i] for i in idx) + ".\n\n")
    sd = model.state_dict()
    write_safetensors(os.path.join(out, "model", "model.safetensors"),
                      {k: v for k, v in sd.items()}, dtype=dtype, metadata={"format": "pt"})

    ids = torch.randint(0, cfg["n_vocab"], (batch, seq))
    logits, acts = hooked_run(model, ids)

    OfficialSAE, _ = official_sae_classes()
    d = cfg["d_model"]
    sae = OfficialSAE(d, sae_exp * d, sae_k)
    with torch.no_grad():
        sae.b_dec.normal_(0, 0.05)
    sae_dir = os.path.join(out, "sae", "%d-mlp-out-x%d-k%d" % (sae_layer, sae_exp, sae_k))
    os.makedirs(sae_dir, exist_ok=True)
    sae_cfg = {"point": ["mlp_out", sae_layer], "target": None, "lr": 1e-4, "in_batch": 32, "out_batch": 4096,
               "n_batches": 256, "n_buffers": None, "d_model": d, "n_ctx": 256, "expansion": sae_exp, "k": sae_k,
               "val_steps": 100, "dead_thresh": 2, "normalize": None, "init_scale": 1.0, "bilinear_encoder": False,
               "token_lookup": False, "decoder_decay": 0.0, "normalize_decoder": True, "encoder_bias": False,
               "tag": None, "kwargs": {}}
    with open(os.path.join(sae_dir, "config.json"), "w") as f:
        json.dump(sae_cfg, f, indent=2)
    write_safetensors(os.path.join(sae_dir, "model.safetensors"), dict(sae.state_dict()))
    # an input SAE at resid_mid of the same layer, as the paper's Figure 8 code uses
    sae_in = OfficialSAE(d, sae_exp * d, sae_k)
    in_dir = os.path.join(out, "sae", "%d-resid-mid-x%d-k%d" % (sae_layer, sae_exp, sae_k))
    os.makedirs(in_dir, exist_ok=True)
    with open(os.path.join(in_dir, "config.json"), "w") as f:
        json.dump(dict(sae_cfg, point=["resid-mid", sae_layer]), f, indent=2)
    write_safetensors(os.path.join(in_dir, "model.safetensors"), dict(sae_in.state_dict()))
    with torch.no_grad():
        codes = sae.encode(acts["mlp_out.%d" % sae_layer].reshape(-1, d))

    ref = {"ids": ids, "logits": logits, "sae_codes.mlp_out.%d" % sae_layer: codes}
    ref.update(acts)
    write_safetensors(os.path.join(out, "ref.safetensors"), ref)


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def check(out):
    folder = os.path.join(out, "export")
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    model = Transformer(cfg).eval()
    arrays, _ = read_numpy_safetensors(os.path.join(folder, "model.safetensors"))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()}, strict=True)
    ref, _ = read_numpy_safetensors(os.path.join(out, "bilin_ref.safetensors"))
    logits, _ = hooked_run(model, torch.from_numpy(ref["ids"]))
    r = rel(torch.from_numpy(ref["logits"]), logits)
    print(f"official_lm_torch check: logits relative difference {r:.3g}")
    return 0 if r <= 1e-5 else 1


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(*sys.argv[2:6])
    elif sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    else:
        sys.exit("usage: official_lm_torch.py make DIR SCALE DTYPE | check DIR")
