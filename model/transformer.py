"""The Talk2Face transformer: one prefix-LM over text and image tokens, in one file.

Read it top to bottom: the config, the prefix-LM mask, LayerNorm, attention, MLP, a block, the
model (embeddings -> blocks -> final norm -> output layer), the KV cache used for generation, and
the loader for the released TencentPretrain weights (`talk2face.bin`).

Sequences follow DESIGN.md 3.6: ``[CLS] prompt [SEP] prefix [SEP]`` is segment 1 (bidirectional
inside it), ``target [SEP]`` is segment 2 (causal), padding is segment 0. A token's vector is the sum
of its token, position and segment embeddings (no embedding LayerNorm); blocks are pre-LayerNorm.

Generation API (for the sampler; all under ``torch.no_grad()`` and ``model.eval()``)::

    logits, cache = model.prefill(ids, segments, max_new_tokens=257)   # logits: (B, V), next token
    while ...:
        token = pick(logits)                                            # (B,) long, yours to choose
        logits, cache = model.step(token, cache)                        # appended as segment 2

Rows of ``ids`` are right-padded (segment 0 after the real tokens); each row continues from its own
length, so prompts of different lengths batch together. ``cache.select(rows)`` keeps or repeats rows
(finished rows, beams, several samples per prompt).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from schemas.vocab import IMAGE_TOKENS, VOCAB_SIZE, VocabLayout

IGNORE_INDEX = -100  # label of a position that carries no loss (prompt, prefix, padding)


@dataclass
class Talk2FaceConfig:
    """Sizes and switches of the Talk2Face transformer; `paper()` is the released model."""

    vocab_size: int = VOCAB_SIZE  # 30,522 BERT-uncased WordPiece ids + the codebook (1,024 VQGAN codes; schemas/vocab.py)
    image_tokens: int = IMAGE_TOKENS  # codes per face of the corpus's tokenizer (256 at f=16, 1,024 at f=8)
    n_positions: int = 1024  # learned 1-D positions; TencentPretrain's talk2face config: max_seq_length 1024
    n_segments: int = 3  # segment ids: 0 padding, 1 prompt + prefix, 2 target
    n_layer: int = 12  # transformer blocks
    n_head: int = 12  # attention heads; n_embd must divide by it
    n_embd: int = 768  # hidden size (= embedding size)
    n_inner: int = 3072  # feed-forward hidden size
    dropout: float = 0.1  # on embeddings, attention probabilities, and each block's two residual branches
    bias: bool = True  # biases in the attention and feed-forward linears (TencentPretrain has them)
    output_bias: bool = False  # bias on the output layer (the released weights have none)
    tie_weights: bool = False  # output layer shares the token embedding (the released weights do not)
    layer_norm: str = "tencentpretrain"  # "tencentpretrain": g*(x-mean)/(unbiased std+eps)+b; "torch": nn.LayerNorm
    layer_norm_eps: float = 1e-6  # eps of every LayerNorm (TencentPretrain's default)

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} must be a multiple of n_head={self.n_head}")
        if self.layer_norm not in ("tencentpretrain", "torch"):
            raise ValueError(f"layer_norm={self.layer_norm!r}; use 'tencentpretrain' or 'torch'")

    @property
    def layout(self) -> VocabLayout:
        """Where the image ids sit in this model's vocabulary, and how many make a face."""
        return VocabLayout.for_vocab(self.vocab_size, self.image_tokens)

    @classmethod
    def paper(cls) -> Talk2FaceConfig:
        """The paper's model: 12 layers, 768 hidden, 12 heads, FFN 3072, dropout 0.1 (~110M parameters)."""
        return cls()

    @classmethod
    def small(cls) -> Talk2FaceConfig:
        """A 4-layer, 256-wide model for CPU experiments."""
        return cls(n_layer=4, n_head=4, n_embd=256, n_inner=1024, n_positions=512, layer_norm="torch")

    @classmethod
    def tiny(cls) -> Talk2FaceConfig:
        """A 2-layer, 64-wide model for tests."""
        return cls(n_layer=2, n_head=4, n_embd=64, n_inner=256, n_positions=512, dropout=0.0, layer_norm="torch")

    @classmethod
    def preset(cls, name: str) -> Talk2FaceConfig:
        """A named preset: 'paper', 'small' or 'tiny'."""
        presets = {"paper": cls.paper, "small": cls.small, "tiny": cls.tiny}
        if name not in presets:
            raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(presets)}")
        return presets[name]()


# -----------------------------------------------------------------------------
# The prefix-LM mask


def prefix_lm_mask(segments: torch.Tensor) -> torch.Tensor:
    """The prefix-LM attention mask: (B, T) segment ids -> (B, T, T) bool, True where query i sees key j.

    A segment-1 key is seen by every query; a segment-2 key by queries at or after it; a padding key
    (segment 0) by none. With segment 1 before segment 2, that is: segment-1 tokens see all of
    segment 1, segment-2 tokens see segment 1 and the segment-2 tokens up to themselves. It is the
    mask TencentPretrain builds for ``mask: prefix``. A padding query row is never empty (it sees
    what a later token would), so attention never divides by zero; its output carries no loss.
    """
    T = segments.size(1)
    key = segments[:, None, :]  # (B, 1, T)
    causal = torch.ones(T, T, dtype=torch.bool, device=segments.device).tril()  # (T, T), j <= i
    return (key == 1) | ((key == 2) & causal)  # (B, T, T)


# -----------------------------------------------------------------------------
# Building blocks


class LayerNorm(nn.Module):
    """LayerNorm with weight and bias; `unbiased_std` divides by the unbiased std + eps as TencentPretrain does."""

    def __init__(self, n: int, eps: float, unbiased_std: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))
        self.eps = eps
        self.unbiased_std = unbiased_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.unbiased_std:
            return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)
        mean = x.mean(-1, keepdim=True)
        std = x.std(-1, keepdim=True)  # unbiased (divides by n - 1), eps added to the std, not the variance
        return self.weight * (x - mean) / (std + self.eps) + self.bias


class SelfAttention(nn.Module):
    """Multi-head self-attention with one fused q/k/v projection and PyTorch's scaled_dot_product_attention."""

    def __init__(self, config: Talk2FaceConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v stacked
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        cache: tuple[torch.Tensor, torch.Tensor] | None = None,
        start: int = 0,
    ) -> torch.Tensor:
        """x: (B, t, C); mask: (B, t, t) or, with a cache, (B, t, start + t) over the cached keys too."""
        B, t, C = x.size()
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # 3 x (B, t, C)
        q = q.view(B, t, self.n_head, hs).transpose(1, 2)  # (B, nh, t, hs)
        k = k.view(B, t, self.n_head, hs).transpose(1, 2)  # (B, nh, t, hs)
        v = v.view(B, t, self.n_head, hs).transpose(1, 2)  # (B, nh, t, hs)
        if cache is not None:  # write this chunk's keys and values, then attend over everything so far
            cache_k, cache_v = cache  # (B, nh, capacity, hs)
            cache_k[:, :, start : start + t] = k
            cache_v[:, :, start : start + t] = v
            k, v = cache_k[:, :, : start + t], cache_v[:, :, : start + t]  # (B, nh, start + t, hs)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask[:, None], dropout_p=self.dropout if self.training else 0.0
        )  # (B, nh, t, hs)
        y = y.transpose(1, 2).contiguous().view(B, t, C)  # (B, t, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """The feed-forward layer: linear, tanh-approximated GELU (TencentPretrain's gelu_fast), linear."""

    def __init__(self, config: Talk2FaceConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, config.n_inner, bias=config.bias)
        self.c_proj = nn.Linear(config.n_inner, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))


class Block(nn.Module):
    """A pre-LayerNorm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, config: Talk2FaceConfig) -> None:
        super().__init__()
        unbiased = config.layer_norm == "tencentpretrain"
        self.ln_1 = LayerNorm(config.n_embd, config.layer_norm_eps, unbiased)
        self.attn = SelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, config.layer_norm_eps, unbiased)
        self.mlp = MLP(config)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        cache: tuple[torch.Tensor, torch.Tensor] | None = None,
        start: int = 0,
    ) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), mask, cache, start)
        return x + self.mlp(self.ln_2(x))


# -----------------------------------------------------------------------------
# The KV cache


@dataclass
class KVCache:
    """Keys and values of every layer during generation: `prefill` makes it, `step` extends it in place.

    Column c of the cache holds the token written c-th (prompt columns first, padding included);
    `visible` says which columns later tokens may attend to (not the prompt's padding), and
    `next_position` is each row's position id for its next token (its real length so far).
    """

    keys: list[torch.Tensor]  # per layer (B, nh, capacity, hs)
    values: list[torch.Tensor]  # per layer (B, nh, capacity, hs)
    visible: torch.Tensor  # (B, capacity) bool
    next_position: torch.Tensor  # (B,) long
    length: int  # columns filled so far

    @property
    def capacity(self) -> int:
        """How many tokens the cache holds in all (prompt columns + new tokens)."""
        return self.visible.size(1)

    def select(self, rows: torch.Tensor) -> KVCache:
        """A new cache with the given rows (a (B',) long index; rows may repeat or be dropped)."""
        return KVCache(
            keys=[k.index_select(0, rows) for k in self.keys],
            values=[v.index_select(0, rows) for v in self.values],
            visible=self.visible.index_select(0, rows),
            next_position=self.next_position.index_select(0, rows),
            length=self.length,
        )


# -----------------------------------------------------------------------------
# The model


class Talk2Face(nn.Module):
    """The Talk2Face prefix-LM: ids and segments in, next-token logits out."""

    def __init__(self, config: Talk2FaceConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)  # position
        self.wse = nn.Embedding(config.n_segments, config.n_embd)  # segment
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = LayerNorm(config.n_embd, config.layer_norm_eps, config.layer_norm == "tencentpretrain")
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=config.output_bias)
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        # N(0, 0.02) for every weight matrix and embedding, zero biases, unit LayerNorm gains (as TencentPretrain)
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self, non_embedding: bool = True) -> int:
        """Number of parameters; `non_embedding` leaves out the position and segment tables."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.wpe.weight.numel() + self.wse.weight.numel()
        return n

    def _check_positions(self, last: int) -> None:
        if last >= self.config.n_positions:
            raise ValueError(
                f"a sequence needs position {last} but the model has {self.config.n_positions} positions; "
                "shorten the text budget or use a config with a larger n_positions"
            )

    def _embed(self, ids: torch.Tensor, segments: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        x = self.wte(ids) + self.wpe(positions) + self.wse(segments)  # (B, t, C)
        return self.drop(x)

    def hidden_states(self, ids: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
        """The final-LayerNorm hidden states, (B, T) ids and segments -> (B, T, C)."""
        T = ids.size(1)
        self._check_positions(T - 1)
        positions = torch.arange(T, device=ids.device)[None, :]  # (1, T)
        x = self._embed(ids, segments, positions)
        mask = prefix_lm_mask(segments)  # (B, T, T)
        for block in self.h:
            x = block(x, mask)
        return self.ln_f(x)

    def forward(
        self, ids: torch.Tensor, segments: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits (B, T, V) for (B, T) ids and segments; with labels, the per-token loss (B, T) instead.

        ``logits[:, i]`` predicts token i + 1. ``labels[:, i]`` is the id of token i + 1 where that
        token is a target token and IGNORE_INDEX elsewhere; the returned loss is the cross-entropy
        there and 0 elsewhere. The output layer runs on the labelled positions only, which saves
        most of its cost (the prompt and prefix carry no loss).
        """
        h = self.hidden_states(ids, segments)  # (B, T, C)
        if labels is None:
            return self.lm_head(h)  # (B, T, V)
        where = labels != IGNORE_INDEX  # (B, T)
        logits = self.lm_head(h[where])  # (N, V)
        picked = F.cross_entropy(logits, labels[where], reduction="none")  # (N,), float32 under autocast too
        losses = torch.zeros(labels.shape, dtype=picked.dtype, device=picked.device)
        losses[where] = picked
        return losses  # (B, T)

    # --- generation ---------------------------------------------------------

    @torch.no_grad()
    def prefill(
        self, ids: torch.Tensor, segments: torch.Tensor, max_new_tokens: int | None = None
    ) -> tuple[torch.Tensor, KVCache]:
        """Run the prompt once: (B, T) right-padded ids and segments -> (next-token logits (B, V), cache).

        The prompt may end inside segment 2 (e.g. ``cacd age:`` opening a face-to-attributes
        target). The cache holds T + max_new_tokens columns (default: up to n_positions).
        """
        B, T = ids.shape
        real = segments > 0  # (B, T)
        lengths = real.sum(1)  # (B,)
        if bool((lengths == 0).any()):
            raise ValueError("prefill got a row with no tokens (all segment 0); drop empty rows first")
        if bool((real[:, 1:] & ~real[:, :-1]).any()):
            raise ValueError("prefill expects right-padded rows: real tokens first, then segment-0 padding")
        if max_new_tokens is None:
            max_new_tokens = max(self.config.n_positions - int(lengths.min()), 0)
        cfg = self.config
        capacity = T + max_new_tokens
        hs = cfg.n_embd // cfg.n_head
        dtype = self.wte.weight.dtype
        keys = [ids.new_zeros((B, cfg.n_head, capacity, hs), dtype=dtype) for _ in range(cfg.n_layer)]
        values = [ids.new_zeros((B, cfg.n_head, capacity, hs), dtype=dtype) for _ in range(cfg.n_layer)]
        visible = torch.zeros(B, capacity, dtype=torch.bool, device=ids.device)
        visible[:, :T] = real
        cache = KVCache(keys, values, visible, next_position=lengths.clone(), length=T)

        self._check_positions(T - 1)
        positions = torch.arange(T, device=ids.device)[None, :]  # (1, T)
        x = self._embed(ids, segments, positions)
        mask = prefix_lm_mask(segments)  # (B, T, T)
        for block, k, v in zip(self.h, keys, values):
            x = block(x, mask, (k, v), 0)
        last = self.ln_f(x[torch.arange(B, device=ids.device), lengths - 1])  # (B, C)
        return self.lm_head(last), cache

    @torch.no_grad()
    def step(
        self, token: torch.Tensor, cache: KVCache, vocab: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, KVCache]:
        """Append one segment-2 token per row: (B,) ids -> (next-token logits (B, V), the same cache, extended).

        `vocab` (K,) ids: compute the output layer for those ids only and give every other id -inf.
        A decoder that can only emit them (an image: 1,024 codes and [SEP]) skips the rest of the
        31,546-way matmul, which is most of a step's cost in small models.
        """
        if cache.length >= cache.capacity:
            raise ValueError(f"KV cache is full ({cache.capacity} columns); pass a larger max_new_tokens to prefill")
        B = token.size(0)
        col = cache.length
        cache.visible[:, col] = True
        positions = cache.next_position[:, None]  # (B, 1)
        self._check_positions(int(positions.max()))
        segments = torch.full((B, 1), 2, dtype=torch.long, device=token.device)
        x = self._embed(token[:, None], segments, positions)  # (B, 1, C)
        mask = cache.visible[:, None, : col + 1]  # (B, 1, col + 1)
        for block, k, v in zip(self.h, cache.keys, cache.values):
            x = block(x, mask, (k, v), col)
        cache.length += 1
        cache.next_position += 1
        h = self.ln_f(x[:, 0])  # (B, C)
        if vocab is None:
            return self.lm_head(h), cache
        bias = None if self.lm_head.bias is None else self.lm_head.bias[vocab]
        logits = h.new_full((B, self.config.vocab_size), float("-inf"))
        logits[:, vocab] = F.linear(h, self.lm_head.weight[vocab], bias)  # (B, K)
        return logits, cache

    # --- the released weights -----------------------------------------------

    @classmethod
    def from_tencentpretrain(cls, path: str | Path, heads: int = 12, dropout: float = 0.1) -> Talk2Face:
        """Load the released `talk2face.bin` (a TencentPretrain state dict); sizes come from its tensor shapes."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise ValueError(f"{path}: cannot read it as a plain torch state dict ({err})") from err
        if not isinstance(state, dict):
            raise ValueError(f"{path}: holds a {type(state).__name__}, expected a state dict of tensors")
        config, ours = convert_tencentpretrain(state, heads=heads, dropout=dropout, source=str(path))
        model = cls(config)
        model.load_state_dict(ours, strict=True)
        return model


# -----------------------------------------------------------------------------
# TencentPretrain -> Talk2Face parameter mapping

_TP_LAYER = re.compile(r"encoder\.transformer\.(\d+)\.")


def convert_tencentpretrain(
    state: dict[str, torch.Tensor], heads: int = 12, dropout: float = 0.1, source: str = "state dict"
) -> tuple[Talk2FaceConfig, dict[str, torch.Tensor]]:
    """Map a TencentPretrain Talk2Face state dict to (config, our state dict); every key must be used.

    TencentPretrain names (models/talk2face/base_config.json: word+pos+seg embeddings, no embedding
    LayerNorm, pre-LN transformer encoder, lm target without bias): ``embedding.{word,pos,seg}.embedding.weight``,
    ``encoder.transformer.<i>.self_attn.linear_layers.{0,1,2}`` (query, key, value),
    ``...self_attn.final_linear``, ``...feed_forward.linear_{1,2}``, ``...layer_norm_{1,2}.{gamma,beta}``,
    ``encoder.layer_norm.{gamma,beta}`` and ``target.lm.output_layer.weight``.
    """
    state = {k.removeprefix("module."): v for k, v in state.items()}  # saved from a DDP wrapper
    if "target.output_layer.weight" in state and "target.lm.output_layer.weight" not in state:  # older layout
        state = {k.replace("target.output_layer.", "target.lm.output_layer."): v for k, v in state.items()}
    need = ["embedding.word.embedding.weight", "embedding.pos.embedding.weight", "embedding.seg.embedding.weight"]
    absent = [k for k in need if k not in state]
    if absent:
        raise ValueError(f"{source}: not a TencentPretrain Talk2Face checkpoint, it lacks {absent}")
    vocab, n_embd = state["embedding.word.embedding.weight"].shape
    if n_embd % heads:
        raise ValueError(f"{source}: hidden size {n_embd} is not a multiple of heads={heads}; pass the right heads")
    layers = sorted({int(m.group(1)) for k in state if (m := _TP_LAYER.match(k))})
    if layers != list(range(len(layers))) or not layers:
        raise ValueError(f"{source}: encoder layers are {layers}, expected 0..n-1")
    config = Talk2FaceConfig(
        vocab_size=vocab,
        n_positions=state["embedding.pos.embedding.weight"].shape[0],
        n_segments=state["embedding.seg.embedding.weight"].shape[0],
        n_layer=len(layers),
        n_head=heads,
        n_embd=n_embd,
        n_inner=state["encoder.transformer.0.feed_forward.linear_1.weight"].shape[0]
        if "encoder.transformer.0.feed_forward.linear_1.weight" in state
        else 4 * n_embd,
        dropout=dropout,
        bias="encoder.transformer.0.self_attn.linear_layers.0.bias" in state,
        output_bias="target.lm.output_layer.bias" in state,
        tie_weights=False,
        layer_norm="tencentpretrain",
        layer_norm_eps=1e-6,
    )
    used: set[str] = set()

    def take(name: str) -> torch.Tensor:
        if name not in state:
            raise ValueError(f"{source}: missing key {name!r}; is it a complete Talk2Face checkpoint?")
        used.add(name)
        return state[name]

    ours: dict[str, torch.Tensor] = {
        "wte.weight": take("embedding.word.embedding.weight"),
        "wpe.weight": take("embedding.pos.embedding.weight"),
        "wse.weight": take("embedding.seg.embedding.weight"),
        "ln_f.weight": take("encoder.layer_norm.gamma"),
        "ln_f.bias": take("encoder.layer_norm.beta"),
        "lm_head.weight": take("target.lm.output_layer.weight"),
    }
    if config.output_bias:
        ours["lm_head.bias"] = take("target.lm.output_layer.bias")
    for i in layers:
        tp, us = f"encoder.transformer.{i}.", f"h.{i}."
        ours[us + "attn.c_attn.weight"] = torch.cat([take(tp + f"self_attn.linear_layers.{j}.weight") for j in range(3)])
        ours[us + "attn.c_proj.weight"] = take(tp + "self_attn.final_linear.weight")
        ours[us + "mlp.c_fc.weight"] = take(tp + "feed_forward.linear_1.weight")
        ours[us + "mlp.c_proj.weight"] = take(tp + "feed_forward.linear_2.weight")
        if config.bias:
            ours[us + "attn.c_attn.bias"] = torch.cat([take(tp + f"self_attn.linear_layers.{j}.bias") for j in range(3)])
            ours[us + "attn.c_proj.bias"] = take(tp + "self_attn.final_linear.bias")
            ours[us + "mlp.c_fc.bias"] = take(tp + "feed_forward.linear_1.bias")
            ours[us + "mlp.c_proj.bias"] = take(tp + "feed_forward.linear_2.bias")
        for n in (1, 2):
            ours[us + f"ln_{n}.weight"] = take(tp + f"layer_norm_{n}.gamma")
            ours[us + f"ln_{n}.bias"] = take(tp + f"layer_norm_{n}.beta")
    unused = sorted(set(state) - used)
    if unused:
        hint = " (an embedding LayerNorm: this is not the Talk2Face layout)" if any("embedding.layer_norm" in k for k in unused) else ""
        raise ValueError(f"{source}: {len(unused)} keys have no place in Talk2Face{hint}: {unused[:8]}")
    return config, {k: v.float() for k, v in ours.items()}


__all__ = [
    "IGNORE_INDEX",
    "KVCache",
    "Talk2Face",
    "Talk2FaceConfig",
    "convert_tencentpretrain",
    "prefix_lm_mask",
]
