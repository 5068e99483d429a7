"""Fixture writers for the model's tests and benchmarks, as converters/testing.py is for converters.

`write_fake_shards` writes a tiny corpus with schemas/shard.py's `write_tar`, the writer the pipeline
uses, so fixture shards are byte for byte what a build writes; `write_taming_checkpoint` writes a
VQGAN as a taming-transformers training log does (project.yaml + Lightning .ckpt).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from model.tokenizers.taming_logs import taming_params
from model.tokenizers.vqgan import ImageTokenizer
from model.tokenizers.vqgan_config import VQGANConfig
from schemas.sample import ShardSample, SourceRef, TextEntry, TokenizerInfo
from schemas.shard import shard_file, shard_name, write_tar
from schemas.text import format_attributes
from schemas.vocab import IMAGE_CODEBOOK_SIZE, IMAGE_TOKENS

_WORDS = ("blond", "black", "brown", "gray", "wavy", "straight", "short", "long", "smiling", "young", "old")


def write_fake_shards(
    directory: str | Path,
    n_faces: int,
    per_shard: int,
    split: str = "train",
    seed: int = 0,
    kinds: Sequence[str] = ("caption", "attributes"),
    n_attributes: int = 4,
    dataset: str = "fake",
    tokenizer: TokenizerInfo | None = None,
) -> list[str]:
    """Write a tiny corpus in the real shard layout (DESIGN.md 3.4) and return the shard paths.

    Attribute texts are `dataset`'s, captions `<dataset>cap`'s; codes are random in the layout of
    `tokenizer` (recorded in every sample), else 256 of 1,024 with no tokenizer named (older samples).

    Face i has random codes, one caption (``kinds`` has "caption") and one attribute text with
    `n_attributes` pairs (``kinds`` has "attributes"), e.g. ``fake age: 31; smiling: true; ...``.
    """
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    shards: list[list[ShardSample]] = []
    for i in range(n_faces):
        if i % per_shard == 0:
            shards.append([])
        key = hashlib.md5(f"{split}/{seed}/{i}".encode()).hexdigest()
        texts = []
        if "caption" in kinds:
            words = rng.choice(_WORDS, size=3, replace=False)
            texts.append(TextEntry(f"{dataset}cap", "caption", f"The person {i} has {words[0]} {words[1]} hair and is {words[2]}."))
        labels: dict[str, bool | int] = {"age": int(rng.integers(10, 80))}
        labels.update({f"attribute {chr(97 + j)}": bool(rng.integers(2)) for j in range(n_attributes - 1)})
        if "attributes" in kinds:
            texts.append(TextEntry(dataset, "attributes", format_attributes(dataset, labels)))
        book, n = (tokenizer.codebook_size, tokenizer.tokens_per_face) if tokenizer else (IMAGE_CODEBOOK_SIZE, IMAGE_TOKENS)
        shards[-1].append(ShardSample(
            key=key, split=split, tokens=rng.integers(0, book, size=n).astype(np.uint16),
            texts=tuple(texts), labels={dataset: labels},
            sources=(SourceRef(dataset, f"{i:06d}.jpg", f"{dataset}/{i:06d}.jpg", split),), tokenizer=tokenizer,
        ))
    paths: list[str] = []
    for index, samples in enumerate(shards):  # faces in index order (tests read them back by index)
        paths.append(str(directory / shard_file(shard_name(split, index))))
        with open(paths[-1], "wb") as f:
            write_tar(f, (s.to_wds() for s in samples))
    return paths


def write_taming_checkpoint(
    model_or_state: nn.Module | ImageTokenizer | Mapping[str, torch.Tensor],
    config: VQGANConfig | Mapping[str, Any],
    ckpt_path: str | Path,
    yaml_path: str | Path,
    *,
    global_step: int = 1000,
) -> None:
    """Write weights as a taming log does: a Lightning `.ckpt` and a `project.yaml`.

    The checkpoint carries what a real one does besides the weights (fake `loss.*` LPIPS and
    discriminator tensors, epoch, global_step, optimizer_states, callbacks, pytorch-lightning_version),
    all as plain types, so tests and the demo exercise the real loading path without a download.
    """
    if isinstance(model_or_state, ImageTokenizer):
        model_or_state = model_or_state.model
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    if not isinstance(config, VQGANConfig):
        config = VQGANConfig(ddconfig=dict(config["ddconfig"]), embed_dim=int(config["embed_dim"]),
                             n_embed=int(config["n_embed"]), kind=str(config.get("kind", "vqgan")))
    weights = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    if config.kind == "vqgan":  # VQLPIPSWithDiscriminator's weights; the released Gumbel log has DummyLoss
        weights.update({
            "loss.logvar": torch.zeros(()),
            "loss.perceptual_loss.net.slice1.0.weight": torch.zeros(64, 3, 3, 3),
            "loss.discriminator.main.0.weight": torch.zeros(64, 3, 4, 4),
            "loss.discriminator.main.0.bias": torch.zeros(64),
        })
    adam_group = {"lr": 4.5e-6, "betas": (0.5, 0.9), "eps": 1e-8, "weight_decay": 0, "amsgrad": False,
                  "params": [0, 1]}
    checkpoint = {
        "epoch": 0,
        "global_step": global_step,
        "pytorch-lightning_version": "1.0.8",
        "state_dict": weights,
        "callbacks": {"ModelCheckpoint{'monitor': None, 'mode': 'min'}": {
            "monitor": None, "best_model_score": None, "best_model_path": "", "current_score": None}},
        "optimizer_states": [{"state": {}, "param_groups": [dict(adam_group)]} for _ in range(2)],
        "lr_schedulers": [],
    }
    torch.save(checkpoint, Path(ckpt_path))
    project = {"model": {"base_learning_rate": 4.5e-6, "target": config.target, "params": taming_params(config)}}
    Path(yaml_path).write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")


__all__ = ["write_fake_shards", "write_taming_checkpoint"]
