"""What a checkpoint was trained with, and the checks that inference inputs match it.

A training checkpoint (model/train/trainer.py) records its config (``digits``: ages as single
digits) and the corpus it read (``corpus.tokenizer``: the image tokenizer's fingerprint, kind and
layout). `talk2face generate` and `talk2face evaluate` follow the first and check the second: a
checkpoint fed the codes of another tokenizer, or ids of another vocabulary, answers garbage without
any error, so it is refused naming both sides. The released ``talk2face.bin`` records neither: it
uses whole-number ages and the FFHQ VQGAN, and only its vocabulary size is checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.checkpoint import CheckpointError, load_checkpoint
from model.transformer import Talk2Face
from schemas.sample import SampleError, TokenizerInfo


@dataclass(frozen=True)
class TrainedWith:
    """A checkpoint's recorded settings; None where it records none (a talk2face.bin, an older checkpoint)."""

    digits: bool | None
    tokenizer: TokenizerInfo | None
    source: str = ""  # the checkpoint's path, for messages


Checkpoint = str | Path | TrainedWith  # a path (read here) or what `trained_with` already read from it


def trained_with(checkpoint: Checkpoint) -> TrainedWith:
    """The digits setting and the corpus tokenizer a checkpoint records (both None for a talk2face.bin).

    Reads the checkpoint once; pass the result to the checks below instead of the path to not read it again.
    """
    if isinstance(checkpoint, TrainedWith):
        return checkpoint
    try:
        payload = load_checkpoint(checkpoint)
    except CheckpointError:
        return TrainedWith(None, None, str(checkpoint))  # a TencentPretrain talk2face.bin: whole-number ages, as released
    config = payload.get("config")
    digits = bool(config.get("digits", False)) if isinstance(config, dict) else None
    meta = (payload.get("corpus") or {}).get("tokenizer") if isinstance(payload.get("corpus"), dict) else None
    try:
        tokenizer = TokenizerInfo.from_meta(meta, f"{checkpoint}: corpus.tokenizer") if meta else None
    except SampleError:
        tokenizer = None
    return TrainedWith(digits, tokenizer, str(checkpoint))


def resolve_digits(checkpoint: Checkpoint, choice: str = "auto") -> bool:
    """Whether to tokenize numbers as single digits: as the checkpoint trained; an explicit choice must agree."""
    recorded = trained_with(checkpoint)
    trained, checkpoint = recorded.digits, recorded.source
    if choice == "auto":
        return bool(trained)
    wanted = choice == "on"
    if trained is not None and trained != wanted:
        raise ValueError(f"{checkpoint} was trained with digits={'on' if trained else 'off'} (numbers as "
                         f"{'single digits' if trained else 'whole WordPiece tokens'}); --digits {choice} would feed it "
                         "ids it never saw: drop --digits or pass the training setting")
    return wanted


def check_tokenizer_matches(checkpoint: Checkpoint, image_tokenizer: Any) -> None:
    """Raise ValueError unless `image_tokenizer` is the one that made the checkpoint's training corpus (when recorded)."""
    trained = trained_with(checkpoint)
    recorded, checkpoint = trained.tokenizer, trained.source
    if recorded is None:
        return
    given = TokenizerInfo.of(image_tokenizer)
    if given.fingerprint != recorded.fingerprint:
        raise ValueError(f"{checkpoint} was trained on codes of image tokenizer {recorded.describe()}, but the "
                         f"tokenizer given is {given.describe()}: its codes mean other pictures to this model. Pass "
                         "the tokenizer the training corpus was built with (--vqgan-preset, or --vqgan-config and "
                         "--vqgan-checkpoint)")


def check_shards_match(checkpoint: Checkpoint, model: Talk2Face, urls: Sequence[str]) -> None:
    """Raise ValueError unless the shards' codes are of the model's vocabulary and the checkpoint's tokenizer."""
    from model.train.corpus import CorpusMismatch, corpus_tokenizer

    try:
        corpus = corpus_tokenizer(urls)
    except CorpusMismatch as err:
        raise ValueError(str(err)) from err
    if corpus.layout != model.config.layout:
        raise ValueError(f"{checkpoint}: the model's vocabulary is {_layout(model.config.layout)}, but the shards "
                         f"({corpus.shard}) hold codes of {_layout(corpus.layout)}: evaluate on shards built with "
                         "the tokenizer the model was trained on")
    trained = trained_with(checkpoint)
    recorded, checkpoint = trained.tokenizer, trained.source
    if recorded is not None and corpus.info is not None and recorded.fingerprint != corpus.info.fingerprint:
        raise ValueError(f"{checkpoint} was trained on codes of image tokenizer {recorded.describe()}, but the "
                         f"shards ({corpus.shard}) hold codes of {corpus.info.describe()}: the same code means another "
                         "picture to this model. Evaluate on shards built with the training corpus's tokenizer")


def _layout(layout: Any) -> str:
    return (f"{layout.vocab_size} ids ({layout.tokens_per_image} image codes per face from a codebook of "
            f"{layout.codebook_size})")


__all__ = ["Checkpoint", "TrainedWith", "check_shards_match", "check_tokenizer_matches", "resolve_digits", "trained_with"]
