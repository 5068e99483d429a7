"""Autoregressive sampling as a pure function of a logits function (greedy, temperature, top-k, top-p).

The sampler knows nothing about the model. It gets the next-token logits of every row, a state
(a KV cache, or anything else), and a ``step(token, state) -> (logits, state)`` function that
appends one token per row; it returns the tokens it chose. The model side provides the step
(``Talk2Face.prefill`` + ``Talk2Face.step`` with a KV cache, or a recompute-everything function for
comparison; see model/infer/decoding.py)::

    logits, cache = model.prefill(ids, segments, max_new_tokens=257)
    tokens = sample(model.step, logits, cache, max_new_tokens=257, eos_id=SEP_ID,
                    config=SamplingConfig(temperature=1.0, top_k=100), generators=row_generators(0, B),
                    constraint=ImageConstraint(), select=lambda cache, rows: cache.select(rows))

Reproducibility: every row draws its random numbers from its own ``torch.Generator``, one uniform
number per token it generates, so a row gets the same tokens whether it is sampled alone or in a
batch, with or without a cache, and whatever the other rows do. Finished rows stop drawing.

Constraints restrict what a row may emit next as a function of what it has emitted so far:
`ImageConstraint` (exactly 256 image ids, then ``[SEP]``), `TextConstraint` (WordPiece ids only, at
most `max_length` of them, then ``[SEP]``) and `ChoiceConstraint` (one of a list of id sequences,
e.g. the WordPiece ids of each label value a dataset uses followed by ``;``, then ``[SEP]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

import numpy as np
import torch

from schemas.vocab import (
    FIRST_WORD_ID,
    IMAGE_CODEBOOK_SIZE,
    IMAGE_OFFSET,
    IMAGE_TOKENS,
    PAD_ID,
    SEP_ID,
    TEXT_VOCAB_SIZE,
)

S = TypeVar("S")
StepFn = Callable[[torch.Tensor, S], tuple[torch.Tensor, S]]  # (token (B,), state) -> (logits (B, V), state)
SelectFn = Callable[[S, torch.Tensor], S]  # (state, rows (B',) long) -> state with those rows



@dataclass(frozen=True)
class SamplingConfig:
    """How the next token is chosen from the logits; the defaults sample from the full distribution."""

    temperature: float = 1.0  # logits are divided by it; 0 means greedy (argmax)
    top_k: int = 0  # keep the k most likely tokens; 0 keeps all
    top_p: float = 1.0  # keep the smallest set of tokens whose probability reaches top_p; 1.0 keeps all

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature={self.temperature} must be >= 0 (0 = greedy)")
        if self.top_k < 0:
            raise ValueError(f"top_k={self.top_k} must be >= 0 (0 = off)")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p={self.top_p} must be in (0, 1] (1 = off)")

    @property
    def greedy(self) -> bool:
        """True when the most likely token is always taken."""
        return self.temperature == 0 or self.top_k == 1

    @classmethod
    def make_greedy(cls) -> SamplingConfig:
        """Greedy decoding, as the paper uses for facial analysis."""
        return cls(temperature=0.0)


# -----------------------------------------------------------------------------
# Per-row random streams


def row_seed(seed: int, *index: int) -> int:
    """A 63-bit seed for one row, derived from the run's seed and the row's index (e.g. prompt, sample)."""
    state = np.random.SeedSequence(seed, spawn_key=tuple(index)).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def row_generators(seed: int, n_rows: int, n_samples: int = 1) -> list[torch.Generator]:
    """One CPU generator per row, rows ordered prompt-major: row i * n_samples + j is sample j of prompt i."""
    return [
        torch.Generator().manual_seed(row_seed(seed, i, j)) for i in range(n_rows) for j in range(n_samples)
    ]


# -----------------------------------------------------------------------------
# Constraints


class Constraint(Protocol):
    """What each row may emit next, as a function of what it has emitted so far."""

    def allowed(self, generated: torch.Tensor, rows: torch.Tensor, vocab_size: int) -> torch.Tensor:
        """(B, t) tokens generated so far by B rows, (B,) their row numbers -> (B, vocab_size) bool."""
        ...


@lru_cache(maxsize=64)
def _range_mask(vocab_size: int, ids: tuple[int, ...] = (), start: int = 0, stop: int = 0) -> torch.Tensor:
    """(vocab_size,) bool: True on ids[start:stop] and on `ids` (cached: constraints ask for the same masks every step)."""
    mask = torch.zeros(vocab_size, dtype=torch.bool)
    mask[start:stop] = True
    if ids:
        mask[list(ids)] = True
    return mask


@dataclass(frozen=True)
class ImageConstraint:
    """Exactly `length` image ids (IMAGE_OFFSET .. IMAGE_OFFSET + codes - 1), then the end token."""

    length: int = IMAGE_TOKENS
    offset: int = IMAGE_OFFSET
    codes: int = IMAGE_CODEBOOK_SIZE
    eos_id: int = SEP_ID

    def allowed(self, generated: torch.Tensor, rows: torch.Tensor, vocab_size: int) -> torch.Tensor:
        if self.offset + self.codes > vocab_size:
            raise ValueError(f"image ids reach {self.offset + self.codes} but the vocabulary has {vocab_size} ids")
        t = generated.size(1)
        if t < self.length:
            mask = _range_mask(vocab_size, start=self.offset, stop=self.offset + self.codes)
        else:
            mask = _range_mask(vocab_size, ids=(self.eos_id,))
        return mask.expand(generated.size(0), vocab_size)


@dataclass(frozen=True)
class TextConstraint:
    """WordPiece word ids only (no image ids, no [PAD]/[CLS]/[MASK]/[unused]); [SEP] ends; at most `max_length` words.

    `min_length` words come before [SEP] may (a caption is never empty).
    """

    max_length: int = 64
    first_word_id: int = FIRST_WORD_ID
    text_vocab: int = TEXT_VOCAB_SIZE
    eos_id: int = SEP_ID
    min_length: int = 0

    def allowed(self, generated: torch.Tensor, rows: torch.Tensor, vocab_size: int) -> torch.Tensor:
        if generated.size(1) < min(self.min_length, self.max_length):
            mask = _range_mask(vocab_size, start=self.first_word_id, stop=self.text_vocab)
        elif generated.size(1) < self.max_length:
            mask = _range_mask(vocab_size, ids=(self.eos_id,), start=self.first_word_id, stop=self.text_vocab)
        else:
            mask = _range_mask(vocab_size, ids=(self.eos_id,))
        return mask.expand(generated.size(0), vocab_size)


class ChoiceConstraint:
    """One of a list of id sequences per row, then the end token: a prefix trie over the choices.

    `choices[r]` lists the allowed sequences of row r (e.g. the WordPiece ids of ``happy;``,
    ``sad;``, ...); `shared` gives one list to every row. A row that has completed a choice may only
    emit `eos_id`. A choice must not be a proper prefix of another (end each with a terminator such
    as the id of ``;``), so that the end of a choice is never ambiguous.
    """

    def __init__(
        self,
        choices: Sequence[Sequence[Sequence[int]]] | None = None,
        shared: Sequence[Sequence[int]] | None = None,
        eos_id: int = SEP_ID,
    ) -> None:
        if (choices is None) == (shared is None):
            raise ValueError("give ChoiceConstraint either per-row choices or one shared list, not both")
        self.eos_id = eos_id
        self._shared = self._trie(shared) if shared is not None else None
        self._tries = [self._trie(c) for c in choices] if choices is not None else []

    def _trie(self, choices: Sequence[Sequence[int]]) -> dict[tuple[int, ...], set[int]]:
        """Every prefix of every choice -> the ids that may follow it (eos after a whole choice)."""
        if not choices:
            raise ValueError("ChoiceConstraint needs at least one choice per row")
        nexts: dict[tuple[int, ...], set[int]] = {}
        whole = {tuple(c) for c in choices}
        for choice in whole:
            if not choice:
                raise ValueError("a choice is empty; every choice needs at least one id")
            for i in range(len(choice)):
                nexts.setdefault(choice[:i], set()).add(choice[i])
        for choice in whole:
            if choice in nexts:
                raise ValueError(f"choice {list(choice)} is a prefix of another; end every choice with a terminator")
            nexts[choice] = {self.eos_id}
        return nexts

    def allowed(self, generated: torch.Tensor, rows: torch.Tensor, vocab_size: int) -> torch.Tensor:
        mask = torch.zeros(generated.size(0), vocab_size, dtype=torch.bool)
        for b, (history, row) in enumerate(zip(generated.tolist(), rows.tolist())):
            if self._shared is not None:
                trie = self._shared
            elif row < len(self._tries):
                trie = self._tries[row]
            else:
                raise IndexError(f"ChoiceConstraint has choices for {len(self._tries)} rows, asked for row {row}")
            follow = trie.get(tuple(history))
            mask[b, sorted(follow) if follow else [self.eos_id]] = True  # off the trie (cannot happen): end it
        return mask


# -----------------------------------------------------------------------------
# Choosing one token


def candidates(
    logits: torch.Tensor, config: SamplingConfig, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The tokens a row may draw: (B, V) logits -> (scaled logits (B, n), their ids (B, n) or None for all V).

    Masked tokens get -inf; then temperature, top-k (only the k best are kept, best first) and top-p
    (the smallest set of best tokens whose probability reaches top_p; the best always stays).
    """
    logits = logits.float()
    if mask is not None:
        logits = logits.masked_fill(~mask.to(logits.device), float("-inf"))
    if config.greedy:
        return logits, None
    logits = logits / config.temperature
    if config.top_k and config.top_k < logits.size(-1):  # only the k best survive: rank just those
        ranked, order = torch.topk(logits, config.top_k, dim=-1)  # (B, k), descending
    elif config.top_p < 1.0:
        ranked, order = torch.sort(logits, dim=-1, descending=True)  # (B, V)
    else:
        return logits, None
    if config.top_p < 1.0:
        probs = torch.softmax(ranked, dim=-1)
        before = probs.cumsum(-1) - probs  # probability of the tokens ranked above each token
        ranked = ranked.masked_fill(before >= config.top_p, float("-inf"))
    return ranked, order


def filter_logits(logits: torch.Tensor, config: SamplingConfig, mask: torch.Tensor | None = None) -> torch.Tensor:
    """(B, V) logits -> float32 logits with -inf where a token may not be drawn (mask, temperature, top-k, top-p)."""
    values, ids = candidates(logits, config, mask)
    if ids is None:
        return values
    return torch.full(logits.shape, float("-inf"), device=values.device).scatter(-1, ids, values)


def choose(
    logits: torch.Tensor,
    config: SamplingConfig,
    generators: Sequence[torch.Generator] | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pick one token per row: (B, V) logits -> (B,) long, drawing one uniform number per row from its generator.

    A draw is an inverse-CDF lookup of the row's uniform number among its candidates (best first
    after top-k/top-p), so it depends on nothing but the row's logits and its generator.
    """
    values, ids = candidates(logits, config, mask)
    if config.greedy:
        return values.argmax(-1)
    if generators is None or len(generators) != logits.size(0):
        raise ValueError(f"sampling needs one torch.Generator per row ({logits.size(0)}); use row_generators(seed, n)")
    probs = torch.softmax(values, dim=-1)  # (B, n)
    cdf = probs.cumsum(-1)  # (B, n)
    u = torch.stack([torch.rand((), dtype=torch.float64, generator=g) for g in generators])  # (B,) in [0, 1)
    target = u.to(cdf.device, cdf.dtype)[:, None] * cdf[:, -1:]  # (B, 1)
    pick = torch.searchsorted(cdf, target, right=True).clamp_(max=probs.size(-1) - 1)  # (B, 1)
    stray = probs.gather(1, pick) == 0  # only at the float edge u * total == total
    pick = torch.where(stray, probs.argmax(-1, keepdim=True), pick)
    return (pick if ids is None else ids.gather(1, pick)).squeeze(1)


# -----------------------------------------------------------------------------
# The sampling loop


def sample(
    step: StepFn[Any],
    logits: torch.Tensor,
    state: Any,
    *,
    max_new_tokens: int,
    eos_id: int = SEP_ID,
    pad_id: int = PAD_ID,
    config: SamplingConfig = SamplingConfig(),  # noqa: B008 - frozen dataclass
    generators: Sequence[torch.Generator] | None = None,
    constraint: Constraint | None = None,
    select: SelectFn[Any] | None = None,
) -> torch.Tensor:
    """Generate up to `max_new_tokens` tokens per row: returns (B, max_new_tokens) long, `pad_id` after `eos_id`.

    `logits` (B, V) predict each row's first new token; `step(tokens, state)` appends one token to
    every row of `state` and returns the logits of the next. A row ends when it emits `eos_id` (kept
    in the output) or after `max_new_tokens` tokens. With `select(state, rows)`, finished rows are
    dropped from the state as they end (less work); without it they keep being fed `eos_id`.
    """
    B, V = logits.shape
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens} must be >= 1")
    if generators is not None and len(generators) != B:
        raise ValueError(f"got {len(generators)} generators for {B} rows; give one per row (row_generators)")
    out = torch.full((B, max_new_tokens), pad_id, dtype=torch.long)
    rows = torch.arange(B)  # the output row of each state row
    alive = torch.ones(B, dtype=torch.bool)  # per state row: still generating
    for t in range(max_new_tokens):
        live = rows[alive]  # output rows that pick a token now
        mask = constraint.allowed(out[live, :t], live, V) if constraint is not None else None
        gens = [generators[r] for r in live.tolist()] if generators is not None else None
        token = choose(logits[alive.to(logits.device)], config, gens, mask).cpu()  # (live,)
        out[live, t] = token
        if t == max_new_tokens - 1:
            break
        ended = token == eos_id
        if bool(ended.all()):
            break
        feed = torch.full((rows.size(0),), eos_id, dtype=torch.long)
        feed[alive] = token
        alive = alive.clone()
        alive[alive.clone()] = ~ended
        if select is not None and not bool(alive.all()):
            keep = alive.nonzero().squeeze(1)
            state = select(state, keep.to(logits.device))
            rows, feed, alive = rows[keep], feed[keep], torch.ones(keep.size(0), dtype=torch.bool)
        logits, state = step(feed.to(logits.device), state)
    return out


def trim(tokens: torch.Tensor, eos_id: int = SEP_ID) -> list[list[int]]:
    """Each row's tokens before its first `eos_id` (all of them if it never ended)."""
    result = []
    for row in tokens.tolist():
        result.append(row[: row.index(eos_id)] if eos_id in row else row)
    return result


__all__ = [
    "ChoiceConstraint",
    "candidates",
    "Constraint",
    "ImageConstraint",
    "SamplingConfig",
    "TextConstraint",
    "choose",
    "filter_logits",
    "row_generators",
    "row_seed",
    "sample",
    "trim",
]
