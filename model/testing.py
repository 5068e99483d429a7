"""Fixture writers for the model's tests and benchmarks, as converters/testing.py is for converters.

`write_fake_shards` writes a tiny corpus with schemas/shard.py's `write_tar`, the writer the pipeline
uses, so fixture shards are byte for byte what a build writes; `write_taming_checkpoint` writes a
VQGAN as a taming-transformers training log does (project.yaml + Lightning .ckpt).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.tokenizers.vqgan import write_taming_checkpoint
from schemas.sample import ShardSample, SourceRef, TextEntry
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
) -> list[str]:
    """Write a tiny corpus in the real shard layout (DESIGN.md 3.4) and return the shard paths.

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
            texts.append(TextEntry("fakecap", "caption", f"The person {i} has {words[0]} {words[1]} hair and is {words[2]}."))
        labels: dict[str, bool | int] = {"age": int(rng.integers(10, 80))}
        labels.update({f"attribute {chr(97 + j)}": bool(rng.integers(2)) for j in range(n_attributes - 1)})
        if "attributes" in kinds:
            texts.append(TextEntry("fake", "attributes", format_attributes("fake", labels)))
        shards[-1].append(ShardSample(
            key=key, split=split, tokens=rng.integers(0, IMAGE_CODEBOOK_SIZE, size=IMAGE_TOKENS).astype(np.uint16),
            texts=tuple(texts), labels={"fake": labels},
            sources=(SourceRef("fake", f"{i:06d}.jpg", f"fake/{i:06d}.jpg", split),),
        ))
    paths: list[str] = []
    for index, samples in enumerate(shards):  # faces in index order (tests read them back by index)
        paths.append(str(directory / shard_file(shard_name(split, index))))
        with open(paths[-1], "wb") as f:
            write_tar(f, (s.to_wds() for s in samples))
    return paths

__all__ = ["write_fake_shards", "write_taming_checkpoint"]
