"""Benchmark: Talk2Face training throughput and MFU against a straightforward reference step, and the loader.

    python bench/bench_train.py              # tiny + paper configs, loader (~5 minutes on a busy 2-core CPU)
    python bench/bench_train.py --quick      # tiny config and a short loader run (under a minute)
    python bench/bench_train.py --device cuda --compile   # GPU: bf16 autocast for ours, fp32 for the reference

Both implementations run the same training step (forward, loss on target tokens, backward, AdamW)
on the same batches from fake shards in the real layout, in the same process, alternating, so the
ratio holds even on a noisy machine:

* ours: `model.transformer.Talk2Face` (fused q/k/v, PyTorch scaled_dot_product_attention with a
  boolean prefix mask, the output layer on target positions only; bf16 autocast on GPU);
* reference: written out the way TencentPretrain computes it (separate q/k/v linears, an explicit
  additive -10000 mask, softmax(QK^T / sqrt(d) + mask) V by hand, its LayerNorm and gelu_fast, the
  output layer and log-softmax on every non-padding position as its LmTarget does), in fp32.

Model FLOPs per step (the same count for both, so MFU compares like with like): 6 x (block matrix
parameters x real tokens + output-layer parameters x target tokens) + attention 12 x layers x hidden x
padded length x real tokens. MFU divides achieved model FLOP/s by the peak FLOP/s that a large
matmul reaches in this same process (fp32 on CPU, bf16 on GPU); it is a measured, not a datasheet, peak.

The loader part times `ShardDataset` (tar reading, JSON, WordPiece, task sequences, padding) in one
process and compares its sequences/s with what each training step consumes.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.testing import write_fake_shards
from model.train.loader import ShardDataset
from model.train.sequences import SequenceBuilder
from model.transformer import IGNORE_INDEX, Talk2Face, Talk2FaceConfig  # noqa: E402


class ReferenceLayerNorm(nn.Module):
    """TencentPretrain's LayerNorm: gamma * (x - mean) / (unbiased std + eps) + beta."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(n))
        self.beta = nn.Parameter(torch.zeros(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-6) + self.beta


class ReferenceLayer(nn.Module):
    """A pre-LN transformer layer computed step by step, as TencentPretrain's TransformerLayer."""

    def __init__(self, c: Talk2FaceConfig) -> None:
        super().__init__()
        self.heads = c.n_head
        self.q, self.k, self.v = (nn.Linear(c.n_embd, c.n_embd) for _ in range(3))
        self.final_linear = nn.Linear(c.n_embd, c.n_embd)
        self.linear_1 = nn.Linear(c.n_embd, c.n_inner)
        self.linear_2 = nn.Linear(c.n_inner, c.n_embd)
        self.layer_norm_1, self.layer_norm_2 = ReferenceLayerNorm(c.n_embd), ReferenceLayerNorm(c.n_embd)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T, C = h.shape
        d = C // self.heads
        x = self.layer_norm_1(h)
        q, k, v = (lin(x).view(B, T, self.heads, d).transpose(1, 2) for lin in (self.q, self.k, self.v))
        scores = q @ k.transpose(2, 3) / math.sqrt(d) + mask  # (B, nh, T, T)
        probs = self.dropout(torch.softmax(scores, dim=-1))
        att = (probs @ v).transpose(1, 2).contiguous().view(B, T, C)
        h = h + self.dropout(self.final_linear(att))
        x = self.linear_1(self.layer_norm_2(h))
        x = 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
        return h + self.dropout(self.linear_2(x))


class ReferenceModel(nn.Module):
    """Talk2Face computed the way the reference implementation does it (fp32, explicit additive mask)."""

    def __init__(self, c: Talk2FaceConfig) -> None:
        super().__init__()
        self.word, self.pos, self.seg = (nn.Embedding(n, c.n_embd) for n in (c.vocab_size, c.n_positions, 3))
        self.layers = nn.ModuleList(ReferenceLayer(c) for _ in range(c.n_layer))
        self.layer_norm = ReferenceLayerNorm(c.n_embd)
        self.output_layer = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, ids: torch.Tensor, seg: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        B, T = ids.shape
        h = self.dropout(self.word(ids) + self.pos(torch.arange(T, device=ids.device)[None]) + self.seg(seg))
        mask_a = (seg == 1)[:, None, :].repeat(1, T, 1)[:, None].float()
        mask_b = (seg > 0)[:, None, :].repeat(1, T, 1)[:, None].float()
        tril = torch.ones(T, T, device=ids.device).tril().repeat(B, 1, 1, 1)
        mask = (1.0 - (mask_a + mask_b + tril >= 2).float()) * -10000.0
        for layer in self.layers:
            h = layer(h, mask)
        h = self.layer_norm(h)[seg > 0]  # every non-padding position, as LmTarget
        logp = F.log_softmax(self.output_layer(h), dim=-1)
        return F.nll_loss(logp, labels[seg > 0], ignore_index=IGNORE_INDEX)


def model_flops(c: Talk2FaceConfig, batch: dict[str, torch.Tensor]) -> float:
    """Model FLOPs of one training step on `batch` (see the module docstring)."""
    tokens = int((batch["segments"] > 0).sum())
    targets = int((batch["labels"] != IGNORE_INDEX).sum())
    T = batch["ids"].size(1)
    blocks = c.n_layer * (4 * c.n_embd * c.n_embd + 2 * c.n_embd * c.n_inner)
    return 6.0 * (blocks * tokens + c.vocab_size * c.n_embd * targets) + 12.0 * c.n_layer * c.n_embd * T * tokens


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_flops(device: torch.device) -> float:
    """Best FLOP/s of large matmuls here (fp32 on CPU, bf16 on GPU), over a few sizes and repeats."""
    sizes, dtype = ((2048, 3072, 4096), torch.float32) if device.type == "cpu" else ((8192,), torch.bfloat16)
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
        a @ b
        for _ in range(3):
            sync(device)
            t = time.perf_counter()
            a @ b
            sync(device)
            best = max(best, 2 * n**3 / (time.perf_counter() - t))
    return best


def bench_config(name: str, c: Talk2FaceConfig, batches: list[dict[str, torch.Tensor]], steps: int,
                 device: torch.device, compile_: bool) -> list[dict[str, object]]:
    """Time `steps` training steps of ours and the reference after one warm-up step each, alternating."""
    torch.manual_seed(0)
    ours = Talk2Face(c).to(device).train()
    ref = ReferenceModel(c).to(device).train()
    runs: dict[str, tuple[nn.Module, object, torch.optim.Optimizer]] = {}
    fused = device.type == "cuda"
    for label, model in (("ours", ours), ("reference", ref)):
        fn = torch.compile(model) if compile_ and label == "ours" else model
        runs[label] = (model, fn, torch.optim.AdamW(model.parameters(), lr=1e-4, fused=fused or None))

    def step(label: str, batch: dict[str, torch.Tensor]) -> None:
        _, fn, opt = runs[label]
        if label == "ours":
            ctx = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
            with ctx:
                losses = fn(batch["ids"], batch["segments"], batch["labels"])  # type: ignore[operator]
                loss = losses.sum() / (batch["labels"] != IGNORE_INDEX).sum()
        else:
            loss = fn(batch["ids"], batch["segments"], batch["labels"])  # type: ignore[operator]
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    times: dict[str, list[float]] = {"ours": [], "reference": []}
    for i in range(steps + 1):  # the first step of each is a warm-up
        batch = {k: v.to(device) for k, v in batches[i % len(batches)].items()}
        for label in ("ours", "reference") if i % 2 == 0 else ("reference", "ours"):
            sync(device)
            t = time.perf_counter()
            step(label, batch)
            sync(device)
            if i:
                times[label].append(time.perf_counter() - t)
    rows = []
    measured = [batches[i % len(batches)] for i in range(1, steps + 1)]
    flops = statistics.mean(model_flops(c, b) for b in measured)
    tokens = statistics.mean(int((b["segments"] > 0).sum()) for b in measured)
    seqs = measured[0]["ids"].size(0)
    for label in ("ours", "reference"):
        t = statistics.median(times[label])
        rows.append({"config": name, "impl": label, "step_s": t, "tok_s": tokens / t, "seq_s": seqs / t,
                     "flops": flops / t})
    return rows


def bench_loader(urls: list[str], n_batches: int, batch_size: int) -> tuple[float, float]:
    """Sequences per wall second and per CPU second that one loader process makes in steady state."""
    dataset = ShardDataset(urls, SequenceBuilder(), batch_size, seed=0, shuffle_buffer=200)
    it = iter(dataset)
    for _ in range(3):  # opens the tokenizer and fills both streams' shuffle buffers
        next(it)
    t, cpu = time.perf_counter(), time.process_time()
    for _ in range(n_batches):
        next(it)
    n = n_batches * batch_size
    return n / (time.perf_counter() - t), n / (time.process_time() - cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny config only and a short loader run")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--compile", action="store_true", help="torch.compile our model")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: PyTorch's default)")
    parser.add_argument("--peak-gflops", type=float, default=0.0,
                        help="peak for MFU (default: the best matmul measured here, before and after the runs)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        # CelebA-like: 40 attribute pairs (longer than the text budget) and one caption per face
        urls = write_fake_shards(Path(tmp), n_faces=500 if args.quick else 2000, per_shard=250, n_attributes=40)
        print(f"device {device}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}", flush=True)
        peak = args.peak_gflops * 1e9 or peak_flops(device)
        print(f"matmul peak here: {peak / 1e9:.1f} GFLOP/s", flush=True)
        t0, cpu0 = time.perf_counter(), time.process_time()
        loader_rate, loader_cpu_rate = bench_loader(urls, 8 if args.quick else 40, 32)
        print(f"loader: {loader_rate:,.0f} sequences/s in one process ({loader_cpu_rate:,.0f} per CPU second)",
              flush=True)

        plans = [("tiny", Talk2FaceConfig.tiny(), 8, 2 if args.quick else 6)]
        if not args.quick:
            plans.append(("paper", Talk2FaceConfig.paper(), 4, 1))
        rows = []
        for name, config, batch_size, steps in plans:
            data = ShardDataset(urls, SequenceBuilder(), batch_size, seed=1, shuffle_buffer=100)
            batches = [b for _, b in zip(range(steps + 1), data)]
            for b in batches:
                del b["position"], b["task"]
            rows += bench_config(name, config, batches, steps, device, args.compile)
            for r in rows[-2:]:
                print(f"{r['config']:>5} {r['impl']:>9}: {r['step_s']:.3f} s/step, {r['tok_s']:,.0f} tok/s, "
                      f"{r['seq_s']:.2f} seq/s, {r['flops'] / 1e9:.2f} GFLOP/s, MFU {r['flops'] / peak:.1%}", flush=True)

        if not args.peak_gflops:  # the machine may have been busier at the start
            peak = max(peak, peak_flops(device))
            print(f"matmul peak after the runs: {peak / 1e9:.1f} GFLOP/s (MFU below uses the best)")
        print("\n| config | batch | impl | s/step | tokens/s | sequences/s | model GFLOP/s | MFU | speed-up |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
        for name, _, batch_size, _ in plans:
            ours, ref = (next(r for r in rows if r["config"] == name and r["impl"] == i) for i in ("ours", "reference"))
            for r in (ours, ref):
                speed = float(r["tok_s"]) / float(ref["tok_s"])
                print(f"| {name} | {batch_size} | {r['impl']} | {r['step_s']:.3f} | {r['tok_s']:,.0f} | {r['seq_s']:.2f} "
                      f"| {float(r['flops']) / 1e9:.2f} | {float(r['flops']) / peak:.1%} | {speed:.2f}x |")
        print("\n| loader (1 process) | sequences/s | per CPU second | / tiny training (ours) | / paper training (ours) |")
        print("|---|---:|---:|---:|---:|")
        ratios = [loader_rate / float(r["seq_s"]) for r in rows if r["impl"] == "ours"]
        cells = " | ".join(f"{x:,.0f}x" for x in ratios) + (" | (not run)" if len(ratios) == 1 else "")
        print(f"| ShardDataset, batch 32 | {loader_rate:,.0f} | {loader_cpu_rate:,.0f} | {cells} |")
        print(f"\ntotal {time.perf_counter() - t0:.0f} s wall, {time.process_time() - cpu0:.0f} s CPU, "
              f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
