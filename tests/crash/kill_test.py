#!/usr/bin/env python3
"""Kill test (issue 20): SIGKILL the trainers at random moments, resume, compare with an uninterrupted run.

usage: kill_test.py --trainer mnist|tinylm|sae [--trainer ...] --mnist EXE --tinylm EXE --sae EXE
                    --data TINYSTORIES_DIR --work DIR [--kills 20] [--seed S]

For each trainer: one uninterrupted run at a tiny budget with a checkpoint after every step (so
kills often land inside a checkpoint write), then runs that are SIGKILLed after a random delay
(uniform in [0, the reference run's wall time], from a seeded generator; every delay is printed)
and resumed from whatever checkpoint is on disk, until `kills` kills have been made. After every
kill the checkpoint on disk must be a complete safetensors file (header and data sizes agree) —
and the next run must load it. When a resumed run completes before its kill, its final state is
compared and the next round starts from scratch. Every completed round must end with the same
tensors, byte for byte, as the uninterrupted run: the resumable checkpoint (model + optimizer
state) and the final model / SAE file. Exit 0 when all agree, 1 on any difference or failure, 77
when the data is missing.
"""
import argparse
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time


def read_safetensors(path):
    """{name: bytes} of every tensor; raises ValueError when the file is torn or malformed."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: {len(blob)} bytes, shorter than the header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header of {n} bytes runs past the end ({len(blob)} bytes)")
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out, end = {}, 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        if b > len(data):
            raise ValueError(f"{path}: tensor {name} ends at {b}, data has {len(data)} bytes")
        out[name] = data[a:b]
        end = max(end, b)
    if end != len(data):
        raise ValueError(f"{path}: data section has {len(data)} bytes, tensors use {end}")
    return out


def temp_files(out):
    return {os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs if ".tmp." in f}


def same_tensors(a_path, b_path):
    a, b = read_safetensors(a_path), read_safetensors(b_path)
    if a.keys() != b.keys():
        return f"tensor names differ: {sorted(a.keys() ^ b.keys())}"
    bad = [k for k in a if a[k] != b[k]]
    return f"{len(bad)} of {len(a)} tensors differ, e.g. {bad[:3]}" if bad else ""


class Trainer:
    """ckpts: the resumable checkpoint(s); finals: the other files compared at the end."""
    def __init__(self, name, cmd, ckpts, finals, resume_args):
        self.name, self.cmd, self.ckpts, self.finals, self.resume_args = name, cmd, ckpts, finals, resume_args

    def args(self, out, resume):
        return self.cmd(out) + (self.resume_args(out) if resume else [])


def run(cmd, log):
    with open(log, "w") as f:
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode


def make_trainers(a, work):
    lm_common = ["--data", a.data, "--cache", os.path.join(work, "cache"), "--vocab", "512", "--layers", "1",
                 "--d-model", "32", "--heads", "2", "--hidden", "64", "--ctx", "32", "--batch", "8",
                 "--eval-every", "10", "--eval-windows", "4", "--log-every", "10", "--threads", "1", "--seed", "3"]
    t = {}
    t["mnist"] = Trainer(
        "train_mnist",
        lambda out: [a.mnist, "--dataset", "mnist", "--hidden", "16", "--epochs", "2", "--batch", "2000",
                     "--threads", "1", "--dropout", "0.1", "--model-noise", "0.05", "--ckpt-steps", "1",
                     "--no-final-train-eval", "--out", out],
        ["checkpoint.safetensors"], ["model.safetensors"],
        lambda out: ["--resume", os.path.join(out, "checkpoint.safetensors")]
        if os.path.exists(os.path.join(out, "checkpoint.safetensors")) else [])
    t["tinylm"] = Trainer("train_tinylm", lambda out: [a.tinylm] + lm_common + ["--steps", "40", "--ckpt-every", "1",
                                                                                 "--out", out],
                          ["ckpt.safetensors"], [], lambda out: ["--resume"])
    t["sae"] = Trainer(
        "train_sae",
        lambda out: [a.sae, "--ckpt", os.path.join(work, "lm", "ckpt.safetensors"), "--data", a.data, "--cache",
                     os.path.join(work, "cache"), "--expansion", "4", "--k", "8", "--steps", "30", "--batch", "256",
                     "--buffer", "1500", "--reuse", "2", "--eval-windows", "4", "--final-windows", "8",
                     "--log-every", "10", "--threads", "1", "--top", "2", "--layer", "0", "--hook", "mlp_out,mlp_in",
                     "--ckpt-every", "1", "--out", out],
        # two SAEs from one harvest: their checkpoints are two files written in turn
        ["0-mlp_out/ckpt.safetensors", "0-mlp_in/ckpt.safetensors"],
        ["0-mlp_out/sae.safetensors", "0-mlp_in/sae.safetensors"], lambda out: ["--resume"])
    return t


def kill_trainer(tr, work, kills, rng):
    ref = os.path.join(work, tr.name, "ref")
    shutil.rmtree(os.path.join(work, tr.name), ignore_errors=True)
    os.makedirs(ref)
    t0 = time.monotonic()
    rc = run(tr.args(ref, False), os.path.join(work, tr.name, "ref.log"))
    t_ref = time.monotonic() - t0
    if rc != 0:
        print(f"{tr.name}: the uninterrupted run failed ({rc}), see {work}/{tr.name}/ref.log")
        return False
    print(f"{tr.name}: uninterrupted run {t_ref:.2f} s")
    done, rounds, ok, t_start, mid_write = 0, 0, True, time.monotonic(), 0
    out = None
    while done < kills:
        if out is None:
            rounds += 1
            out = os.path.join(work, tr.name, f"round{rounds}")
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            runs = 0
        temps_before = temp_files(out)
        log = os.path.join(work, tr.name, f"round{rounds}.run{runs}.log")
        cmd = tr.args(out, runs > 0)
        runs += 1
        delay = rng.uniform(0, t_ref)
        with open(log, "w") as f:
            p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
            try:
                rc = p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.wait()
                rc = None
        if rc is None:
            done += 1
            state = ""
            if temp_files(out) - temps_before:
                mid_write += 1
                state = "killed inside a file write (temporary file left); "
            present = [c for c in tr.ckpts if os.path.exists(os.path.join(out, c))]
            state += f"{len(present)} of {len(tr.ckpts)} checkpoint(s) on disk"
            for c in present:
                try:
                    read_safetensors(os.path.join(out, c))
                except (ValueError, json.JSONDecodeError) as e:
                    print(f"{tr.name}: kill {done}: TORN CHECKPOINT: {e}")
                    ok = False
            if present and ok:
                state += ", complete"
            print(f"{tr.name}: kill {done:2d} after {delay:.3f} s (round {rounds}, run {runs}): {state}")
            continue
        if rc != 0:
            print(f"{tr.name}: run {runs} of round {rounds} failed with {rc}:")
            print(open(log).read()[-3000:])
            return False
        ok &= compare(tr, ref, out, rounds)
        out = None
    if out is not None:  # finish the last round without kills
        rc = run(tr.args(out, True), os.path.join(work, tr.name, f"round{rounds}.final.log"))
        if rc != 0:
            print(f"{tr.name}: the final resumed run failed ({rc})")
            print(open(os.path.join(work, tr.name, f"round{rounds}.final.log")).read()[-3000:])
            return False
        ok &= compare(tr, ref, out, rounds)
    print(f"{tr.name}: {kills} kills in {rounds} rounds, {time.monotonic() - t_start:.1f} s; "
          f"{mid_write} kills landed inside a file write")
    return ok


def compare(tr, ref, out, rounds):
    ok = True
    for f in tr.ckpts + tr.finals:
        diff = same_tensors(os.path.join(ref, f), os.path.join(out, f))
        print(f"{tr.name}: round {rounds}: {f}: {'identical tensors' if not diff else 'DIFFERS: ' + diff}")
        ok &= not diff
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trainer", action="append", choices=["mnist", "tinylm", "sae"])
    ap.add_argument("--mnist")
    ap.add_argument("--tinylm")
    ap.add_argument("--sae")
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    print(f"kill_test: seed {seed}, {a.kills} kills per trainer")
    rng = random.Random(seed)
    names = a.trainer or ["mnist", "tinylm", "sae"]
    if any(n in names for n in ("tinylm", "sae")) and not os.path.exists(os.path.join(a.data, "TinyStories-valid-head.txt")):
        print(f"skip: no TinyStories data in {a.data}")
        sys.exit(77)
    os.makedirs(a.work, exist_ok=True)
    trainers = make_trainers(a, a.work)
    if "sae" in names or "tinylm" in names:  # the language model the SAEs read; makes the token caches
        lm = os.path.join(a.work, "lm")
        if run(trainers["tinylm"].args(lm, False), os.path.join(a.work, "lm.log")) != 0:
            print(open(os.path.join(a.work, "lm.log")).read()[-3000:])
            sys.exit(1)
    ok = True
    for n in names:
        ok &= kill_trainer(trainers[n], a.work, a.kills, rng)
    print("kill_test: " + ("all resumed runs are bit-identical to the uninterrupted ones" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
