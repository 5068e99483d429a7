"""Benchmark: sampling with the KV cache against recomputing the whole sequence at every step.

Three templates, at batch 1 and 16, on the tiny and the paper configuration (random weights; speed
does not depend on them), cached and recompute in the same run:

* text -> face: 256 image tokens + [SEP], top-k/top-p sampling under the image constraint;
* face -> caption: 32-token captions (greedy, text constraint; [SEP] forbidden before 32 words);
* face -> attribute: ``affectnet expression:`` constrained to the 8 labels (2-3 tokens).

**cached** is the sampler of model/sampling.py on the model's KV cache (prefill once, then one
token per row per step); **recompute** is the same sampler with `recompute_decoding` (every step
runs the whole sequence through the model; the output layer only on the last position).

How: on the tiny configuration (and on every configuration with ``--full``) each template is timed
end to end both ways. A full recompute run of the paper model takes far too long on a CPU, so on the
paper configuration both ways are **estimated** from timed pieces: a forward pass costs
``a + c * tokens`` (B x L tokens; the quadratic attention term is a few % at these lengths), fitted
to passes of 1 x L0, 1 x (L0 + 256), 4 x (L0 + 256) and B x L0 tokens; a cached step costs a
straight line in the cache length, fitted to sampler steps timed on a cache of length L0 and
L0 + 256 (rows repeated with ``cache.select``). A run costs its prefill plus its steps. The tiny
rows print the same estimate beside the measurement, as a check of the method, and the paper's
text -> face at batch 1 is also timed end to end (cached).

    python bench/bench_sampling.py                # tiny + paper (a few minutes on 2 loaded cores)
    python bench/bench_sampling.py --quick        # tiny only, sub-minute
    python bench/bench_sampling.py --device cuda --full --threads 0 --json bench/sampling_gpu.json
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.infer.decoding import recompute_decoding, run_prompts
from model.infer.prompts import Prompt, attributes_prompt, caption_prompt, choice_ids, image_prompt
from model.infer.templates import IMAGE_SAMPLING, answer_questions, generate_image_codes, label_values
from model.sampling import SEP_ID, ImageConstraint, SamplingConfig, TextConstraint, row_seed, sample  # noqa: E402
from model.transformer import KVCache, Talk2Face, Talk2FaceConfig  # noqa: E402

TEXT = "This man has black hair and a short beard. smiling : true ; young : true ;"
CAPTION_TOKENS = 32
QUESTION = "affectnet expression:"
TIMED_STEPS = 6  # sampler steps timed per cache length


class FixedLengthText(TextConstraint):
    """Text ids only and no [SEP] before `max_length` words (an untrained model would stop anywhere)."""

    def allowed(self, generated: torch.Tensor, rows: torch.Tensor, vocab_size: int) -> torch.Tensor:
        mask = super().allowed(generated, rows, vocab_size).clone()
        if generated.size(1) < self.max_length:
            mask[:, SEP_ID] = False
        return mask


def timed(fn: Callable[[], Any], device: torch.device) -> tuple[float, Any]:
    """(wall seconds, result) of one call."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    result = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, result


# -----------------------------------------------------------------------------
# End-to-end runs


def templates(model: Talk2Face, codes: np.ndarray) -> dict[str, tuple[Callable[..., Any], int, Prompt]]:
    """task -> (run(batch, **decoding), tokens generated per item, its prompt)."""
    greedy = SamplingConfig.make_greedy()

    def face(b: int, **kw: Any) -> Any:
        return generate_image_codes(model, [TEXT] * b, n=1, config=IMAGE_SAMPLING, batch_size=b, **kw)

    def caption(b: int, **kw: Any) -> Any:  # exactly CAPTION_TOKENS words then [SEP], both ways the same work
        return run_prompts(model, [caption_prompt(c) for c in codes[:b]], max_new_tokens=CAPTION_TOKENS + 1,
                           constraint=FixedLengthText(CAPTION_TOKENS), config=greedy, seeds=None, **kw)

    def attribute(b: int, **kw: Any) -> Any:
        return answer_questions(model, codes[:b], [QUESTION] * b, batch_size=b, **kw)

    return {
        "text -> face": (face, 257, image_prompt(TEXT)),
        "face -> caption": (caption, CAPTION_TOKENS + 1, caption_prompt(codes[0])),
        "face -> attribute": (attribute, 3, attributes_prompt(codes[0], QUESTION)),
    }


# -----------------------------------------------------------------------------
# Cost model for the estimates


def padded(prompt: Prompt, extra: int, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """`batch` copies of `prompt` + `extra` image tokens in segment 2: the sequence at generation step `extra`."""
    tail = 30522 + torch.randint(0, 1024, (extra,), generator=torch.Generator().manual_seed(extra))
    ids = torch.cat([torch.tensor(prompt.ids), tail])[None].repeat(batch, 1)
    segments = torch.tensor(list(prompt.segments) + [2] * extra)[None].repeat(batch, 1)
    return ids.to(device), segments.to(device)


@torch.no_grad()
def forward_seconds(model: Talk2Face, prompt: Prompt, extra: int, batch: int, device: torch.device) -> float:
    """One recompute step: the whole (batch, L) sequence through the model, output layer on the last position."""
    ids, segments = padded(prompt, extra, batch, device)
    seconds, _ = timed(lambda: model.lm_head(model.hidden_states(ids, segments)[:, -1]), device)
    return seconds


@torch.no_grad()
def step_seconds(model: Talk2Face, cache: KVCache, logits: torch.Tensor, device: torch.device) -> float:
    """Seconds per sampler step (choose + model.step) on a cache, image constraint and top-k/top-p on."""
    B = logits.size(0)
    gens = [torch.Generator().manual_seed(row_seed(0, r)) for r in range(B)]
    seconds, _ = timed(lambda: sample(model.step, logits, cache, max_new_tokens=TIMED_STEPS + 1, config=IMAGE_SAMPLING,
                                      generators=gens, constraint=ImageConstraint()), device)
    return seconds / TIMED_STEPS


@torch.no_grad()
def cost_model(model: Talk2Face, prompt: Prompt, batches: list[int], device: torch.device) -> dict[str, Any]:
    """Timed pieces: forward passes (tokens, s) and cached steps per batch (cache length, s/step)."""
    forward: list[tuple[int, float]] = []
    steps: dict[int, list[tuple[int, float]]] = {b: [] for b in batches}
    L0, room = len(prompt.ids), 257 + TIMED_STEPS + 1
    seconds, (logits1, long_cache) = timed(
        lambda: model.prefill(*padded(prompt, 256, 1, device), max_new_tokens=TIMED_STEPS + 1), device)
    forward.append((L0 + 256, seconds))
    forward.append((L0, forward_seconds(model, prompt, 0, 1, device)))
    if max(batches) > 1:
        forward.append((4 * (L0 + 256), forward_seconds(model, prompt, 256, 4, device)))
    for b in batches:
        ids, segments = padded(prompt, 0, b, device)
        seconds, (logits, cache) = timed(functools.partial(model.prefill, ids, segments, max_new_tokens=room), device)
        forward.append((b * L0, seconds))
        steps[b].append((L0, step_seconds(model, cache, logits, device)))
        rows = torch.zeros(b, dtype=torch.long, device=device)
        steps[b].append((L0 + 256, step_seconds(model, long_cache.select(rows), logits1[rows], device)))
    tokens, secs = zip(*forward)
    per_token, intercept = np.polyfit(tokens, secs, 1)
    return {"forward_points": forward, "forward_intercept_s": float(intercept), "forward_per_token_s": float(per_token),
            "step_points": {str(b): v for b, v in steps.items()}}


def estimate(costs: dict[str, Any], prompt_length: int, new_tokens: int, batch: int) -> tuple[float, float]:
    """(cached seconds, recompute seconds) of generating `new_tokens` for `batch` prompts of `prompt_length`."""
    a, c = costs["forward_intercept_s"], costs["forward_per_token_s"]
    lengths = prompt_length + np.arange(new_tokens)  # sequence length before each generated token
    recompute = float(np.sum(a + c * batch * lengths))
    (l0, s0), (l1, s1) = costs["step_points"][str(batch)]
    slope = (s1 - s0) / (l1 - l0)
    cached_steps = np.sum(s0 + slope * (lengths[1:] - l0)) if new_tokens > 1 else 0.0
    return float(a + c * batch * prompt_length + cached_steps), recompute


# -----------------------------------------------------------------------------


def run_config(name: str, batches: list[int], device: torch.device, full: bool) -> list[dict[str, Any]]:
    """Every measurement of one model configuration."""
    torch.manual_seed(0)
    model = Talk2Face(Talk2FaceConfig.preset(name)).to(device).eval()
    codes = np.random.default_rng(0).integers(0, 1024, size=(max(batches), 256)).astype(np.uint16)
    jobs = templates(model, codes)
    generate_image_codes(model, [TEXT], n=1)  # warm-up: tokenizer, allocator
    choice_ids(label_values("affectnet", "expression") or ())  # warm-up: label vocabularies from the converters
    measure = full or name == "tiny"
    costs = cost_model(model, jobs["text -> face"][2], batches, device)
    print(f"  {name}: cost model {costs['forward_per_token_s'] * 1e3:.3f} ms/token", file=sys.stderr, flush=True)
    rows: list[dict[str, Any]] = []
    for task, (run, new_tokens, prompt) in jobs.items():
        for b in batches:
            est_cached, est_recompute = estimate(costs, len(prompt.ids), new_tokens, b)
            row: dict[str, Any] = {"config": name, "task": task, "batch": b, "prompt_length": len(prompt.ids),
                                   "new_tokens": new_tokens, "estimated_cached_s": est_cached,
                                   "estimated_recompute_s": est_recompute}
            if measure or (task == "text -> face" and b == 1):
                row["measured_cached_s"] = timed(functools.partial(run, b), device)[0]
            if measure:
                row["measured_recompute_s"] = timed(functools.partial(run, b, decoding=recompute_decoding), device)[0]
            how = "measured" if measure else "estimated"
            row["how"] = how
            row["cached_per_s"] = b / row[f"{how}_cached_s"]
            row["recompute_per_s"] = b / row[f"{how}_recompute_s"]
            row["speedup"] = row["cached_per_s"] / row["recompute_per_s"]
            rows.append(row)
            print(f"  {name} {task} batch {b}: {row['cached_per_s']:.3g}/s vs {row['recompute_per_s']:.3g}/s "
                  f"({how})", file=sys.stderr, flush=True)
    rows[0]["cost_model"] = costs
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (estimates of measured rows in brackets, as a check)."""
    out = ["| config | task | batch | cached items/s | recompute items/s | speed-up | how |",
           "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        note = r["how"]
        if r["how"] == "measured":
            note += (f" (estimate: {r['batch'] / r['estimated_cached_s']:.3g} vs "
                     f"{r['batch'] / r['estimated_recompute_s']:.3g})")
        elif "measured_cached_s" in r:
            note += f" (cached measured: {r['batch'] / r['measured_cached_s']:.3g}/s)"
        out.append(f"| {r['config']} | {r['task']} | {r['batch']} | {r['cached_per_s']:.3g} | "
                   f"{r['recompute_per_s']:.3g} | {r['speedup']:.1f}x | {note} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a Markdown table (and write JSON with --json)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny configuration only (sub-minute)")
    p.add_argument("--configs", default="tiny,paper", help="comma-separated presets: tiny, small, paper")
    p.add_argument("--batches", default="1,16", help="comma-separated batch sizes")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    p.add_argument("--full", action="store_true", help="time both ways end to end on every configuration")
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda but CUDA is not available")
    configs = ["tiny"] if args.quick else args.configs.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    start, cpu = time.time(), time.process_time()
    rows = []
    for name in configs:
        rows += run_config(name, batches, device, args.full)
    print(table(rows))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\ndevice {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, load average "
          f"{load:.1f}, wall {time.time() - start:.0f} s, CPU {time.process_time() - cpu:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
