"""Prompts of the inference templates, laid out as model/train/sequences.py lays out training sequences.

    text -> face       [CLS] to image [SEP] <text> [SEP]               (image_prompt)
    face -> caption    [CLS] to caption [SEP] <256 image ids> [SEP]    (caption_prompt)
    face -> attribute  [CLS] to attributes [SEP] <256 image ids> [SEP] cacd age:   (attributes_prompt)

All of it is segment 1 except the question that opens an attribute target (segment 2), as in training.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from model.train.sequences import (
    ATTRIBUTES_TO_FACE,
    CAPTION_TO_FACE,
    FACE_TO_ATTRIBUTES,
    FACE_TO_CAPTION,
    PROMPTS,
    SequenceBuilder,
)
from schemas.text import TextProtocolError, canonical, parse_attributes
from schemas.vocab import CLS_ID, DEFAULT_LAYOUT, SEP_ID, VocabLayout


@dataclass(frozen=True)
class Prompt:
    """One prompt row: ids and segments (1 = prompt and prefix, 2 = an opening of the target)."""

    ids: tuple[int, ...]
    segments: tuple[int, ...]


@lru_cache(maxsize=4)
def default_builder(text_budget: int = 64) -> SequenceBuilder:
    """The training side's sequence builder (and through it the project's text tokenizer)."""
    return SequenceBuilder(text_budget=text_budget)


def _prompt(task: int, prefix: Sequence[int], builder: SequenceBuilder, opening: Sequence[int] = ()) -> Prompt:
    first = [CLS_ID, *builder.tokenizer.encode(PROMPTS[task]), SEP_ID, *prefix, SEP_ID]
    ids = tuple(int(i) for i in (*first, *opening))
    return Prompt(ids, (1,) * len(first) + (2,) * len(opening))


def _image_ids(codes: np.ndarray | Sequence[int], layout: VocabLayout = DEFAULT_LAYOUT) -> list[int]:
    codes = np.asarray(codes).reshape(-1)
    n, book = layout.tokens_per_image, layout.codebook_size
    if codes.shape != (n,) or int(codes.min()) < 0 or int(codes.max()) >= book:
        raise ValueError(f"a face is {n} VQGAN codes in 0..{book - 1} (the model's layout), got shape {codes.shape}"
                         + (f" with codes {int(codes.min())}..{int(codes.max())}" if codes.size else ""))
    return [layout.image_offset + int(c) for c in codes]


def text_ids(text: str, builder: SequenceBuilder) -> list[int]:
    """A to-image condition as training sees it: an attribute text keeps whole pairs within the budget, a caption is cut."""
    try:
        _, labels = parse_attributes(text)
    except TextProtocolError:
        labels = {}
    if labels:
        try:
            return [int(i) for i in builder.attribute_subset(text, random.Random(0))]
        except ValueError:
            pass
    return [int(i) for i in builder.tokenizer.encode(text)[: builder.text_budget]]


def image_prompt(text: str, builder: SequenceBuilder | None = None) -> Prompt:
    """Text-guided face synthesis (figure 3a): a caption, attributes or both -> 256 image ids."""
    builder = builder or default_builder()
    task = ATTRIBUTES_TO_FACE if _is_attributes(text) else CAPTION_TO_FACE
    return _prompt(task, text_ids(text, builder), builder)


def _is_attributes(text: str) -> bool:
    try:
        return bool(parse_attributes(text)[1])
    except TextProtocolError:
        return False


def caption_prompt(codes: np.ndarray | Sequence[int], builder: SequenceBuilder | None = None,
                   layout: VocabLayout = DEFAULT_LAYOUT) -> Prompt:
    """Face captioning (figure 3b): a face's codes (256 at f=16) -> a caption."""
    builder = builder or default_builder()
    return _prompt(FACE_TO_CAPTION, _image_ids(codes, layout), builder)


def question_text(question: str) -> tuple[str, str, str]:
    """``"cacd age:"`` -> (``"cacd age:"``, prefix ``"cacd"``, key ``"age"``); the colon may be left off."""
    body = " ".join(question.strip().rstrip(":").split()).lower()
    prefix, _, key = body.partition(" ")
    if not prefix or not key or ":" in key or ";" in key:
        raise ValueError(f"question {question!r} must be '<dataset prefix> <key>:', e.g. 'cacd age:' or 'celeba smiling:'")
    key = canonical(key)
    return f"{prefix} {key}:", prefix, key


def attributes_prompt(
    codes: np.ndarray | Sequence[int], question: str, builder: SequenceBuilder | None = None,
    layout: VocabLayout = DEFAULT_LAYOUT,
) -> Prompt:
    """Facial analysis (figure 3c, 3d): a face's codes and ``cacd age:`` -> the value; the question opens the target."""
    builder = builder or default_builder()
    text, _, _ = question_text(question)
    return _prompt(FACE_TO_ATTRIBUTES, _image_ids(codes, layout), builder, builder.tokenizer.encode(text))


def collate_prompts(prompts: Sequence[Prompt], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad prompts into (B, T) ids and segments, as `Talk2Face.prefill` takes them."""
    T = max(len(p.ids) for p in prompts)
    ids = torch.zeros(len(prompts), T, dtype=torch.long)
    segments = torch.zeros(len(prompts), T, dtype=torch.long)
    for row, p in enumerate(prompts):
        ids[row, : len(p.ids)] = torch.tensor(p.ids)
        segments[row, : len(p.segments)] = torch.tensor(p.segments)
    return ids.to(device), segments.to(device)


def choice_ids(values: Sequence[str], builder: SequenceBuilder | None = None) -> list[list[int]]:
    """The WordPiece ids of each value followed by ``;``, as an attribute text holds them."""
    builder = builder or default_builder()
    return [builder.tokenizer.encode(f"{v};") for v in values]


__all__ = [
    "Prompt",
    "attributes_prompt",
    "caption_prompt",
    "choice_ids",
    "collate_prompts",
    "default_builder",
    "image_prompt",
    "question_text",
    "text_ids",
]
