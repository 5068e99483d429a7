"""The logits functions the sampler runs, and one batch of prompts run through it.

`sample` (model/sampling.py) knows nothing about the model; a `Decoding` gives it the first logits,
a state and the `step` / `select` functions: `cached_decoding` (one prefill, then one token per row
per step with the model's KV cache; `cached_image_decoding` computes only a face's 1,025 logits)
or `recompute_decoding` (the whole sequence rerun at every step, the baseline). `run_prompts`
samples `n` continuations of each prompt of a batch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from model.infer.prompts import Prompt, collate_prompts
from model.sampling import Constraint, SamplingConfig, sample
from model.transformer import KVCache, Talk2Face
from schemas.vocab import DEFAULT_LAYOUT, SEP_ID, VocabLayout


@dataclass
class Decoding:
    """What `sample` needs: the first logits (B, V), a state, `step(token, state)` and `select(state, rows)`."""

    logits: torch.Tensor
    state: Any
    step: Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]
    select: Callable[[Any, torch.Tensor], Any]


def cached_decoding(
    model: Talk2Face, ids: torch.Tensor, segments: torch.Tensor, max_new_tokens: int,
    vocab: Sequence[int] | None = None,
) -> Decoding:
    """Generation with the model's KV cache: one prefill, then one token per row per step.

    `vocab`: the only ids the steps may emit; their output layer skips every other id (-inf logits).
    """
    logits, cache = model.prefill(ids, segments, max_new_tokens=max_new_tokens)
    if vocab is None:
        return Decoding(logits, cache, model.step, KVCache.select)
    only = torch.tensor(list(vocab), dtype=torch.long, device=ids.device)
    return Decoding(logits, cache, functools.partial(model.step, vocab=only), KVCache.select)


def image_vocab(layout: VocabLayout) -> tuple[int, ...]:
    """The ids a face position may emit in `layout`: [SEP] and every image id."""
    return (SEP_ID, *range(layout.image_offset, layout.image_stop))


IMAGE_VOCAB = image_vocab(DEFAULT_LAYOUT)  # the FFHQ f=16 VQGAN's 1,024 codes and [SEP]


def cached_image_decoding(model: Talk2Face, ids: torch.Tensor, segments: torch.Tensor, max_new_tokens: int) -> Decoding:
    """`cached_decoding` whose steps compute only the logits a face can emit: its codes (of the model's layout) and [SEP]."""
    return cached_decoding(model, ids, segments, max_new_tokens, vocab=image_vocab(model.config.layout))


@dataclass
class RecomputeState:
    """The whole sequence of each row (right-padded), rerun through the model at every step."""

    ids: torch.Tensor  # (B, capacity)
    segments: torch.Tensor  # (B, capacity)
    lengths: torch.Tensor  # (B,)

    def select(self, rows: torch.Tensor) -> RecomputeState:
        return RecomputeState(self.ids[rows], self.segments[rows], self.lengths[rows])


def recompute_decoding(model: Talk2Face, ids: torch.Tensor, segments: torch.Tensor, max_new_tokens: int) -> Decoding:
    """Generation without a cache: every step reruns the model over the whole sequence (the baseline)."""
    B, T = ids.shape
    state = RecomputeState(
        torch.cat([ids, ids.new_zeros(B, max_new_tokens)], 1),
        torch.cat([segments, segments.new_zeros(B, max_new_tokens)], 1),
        (segments > 0).sum(1),
    )

    @torch.no_grad()
    def last_logits(s: RecomputeState) -> torch.Tensor:
        width = int(s.lengths.max())
        h = model.hidden_states(s.ids[:, :width], s.segments[:, :width])  # (B, width, C)
        return model.lm_head(h[torch.arange(h.size(0), device=h.device), s.lengths - 1])  # (B, V)

    def step(token: torch.Tensor, s: RecomputeState) -> tuple[torch.Tensor, RecomputeState]:
        rows = torch.arange(token.size(0), device=token.device)
        s.ids[rows, s.lengths] = token
        s.segments[rows, s.lengths] = 2
        s.lengths = s.lengths + 1
        return last_logits(s), s

    return Decoding(last_logits(state), state, step, RecomputeState.select)


DecodingFn = Callable[[Talk2Face, torch.Tensor, torch.Tensor, int], Decoding]


def run_prompts(
    model: Talk2Face,
    prompts: Sequence[Prompt],
    *,
    max_new_tokens: int,
    constraint: Constraint | None,
    config: SamplingConfig,
    seeds: Sequence[int] | None,
    n: int = 1,
    decoding: DecodingFn = cached_decoding,
) -> torch.Tensor:
    """Sample `n` continuations of each prompt in one batch: (len(prompts) * n, max_new_tokens), prompt-major.

    The prompts are run once; their rows are repeated n times afterwards. `seeds` has one seed per
    output row (each row draws from its own generator), or None for greedy decoding.
    """
    device = next(model.parameters()).device
    ids, segments = collate_prompts(prompts, device)
    d = decoding(model, ids, segments, max_new_tokens)
    logits, state = d.logits, d.state
    if n > 1:
        rows = torch.arange(len(prompts), device=device).repeat_interleave(n)
        logits, state = logits[rows], d.select(state, rows)
    generators = [torch.Generator().manual_seed(s) for s in seeds] if seeds is not None else None
    return sample(d.step, logits, state, max_new_tokens=max_new_tokens, eos_id=SEP_ID, config=config,
                  generators=generators, constraint=constraint, select=d.select)


__all__ = [
    "IMAGE_VOCAB",
    "image_vocab",
    "Decoding",
    "DecodingFn",
    "RecomputeState",
    "cached_decoding",
    "cached_image_decoding",
    "recompute_decoding",
    "run_prompts",
]
