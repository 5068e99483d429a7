"""Training sequences: a shard sample's (face, text) pairs laid out as the four task sequences, and their batches.

A shard sample is one face with all its texts (DESIGN.md 3.4); every text becomes a (face, text)
pair, and every pair becomes one of the four task sequences of DESIGN.md 3.6::

    face_to_caption      [CLS] to caption [SEP] <256 image ids> [SEP] | caption [SEP]
    caption_to_face      [CLS] to image [SEP] caption [SEP]           | <256 image ids> [SEP]
    face_to_attributes   [CLS] to attributes [SEP] <image> [SEP]      | celeba smiling: true; [SEP]
    attributes_to_face   [CLS] to image [SEP] celeba gender: male; ... [SEP] | <image> [SEP]

Left of ``|`` is segment 1, right of it segment 2; the loss is on segment 2 only, every target token
and the closing [SEP]. Texts are held to a text budget of WordPiece tokens (64 by default, so the
longest sequence is 327 tokens, inside the reference's seq_length of 334; the reference's generation
script instead cuts the whole to-image segment 1 at 64): captions are truncated, attribute texts that
are longer keep their prefix and a random subset of whole ``key: value;`` pairs. A face-to-attributes
example asks for one pair, whose ``<prefix> <key>:`` opens the target as at inference (``cacd age:``
-> ``25;``); the loss covers that opening too (it teaches which keys a dataset has, and costs
nothing at inference, where the opening is given), or only the value with ``attribute_key_loss=False``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from model.tokenizers.text import TextTokenizer, load_text_tokenizer
from model.transformer import IGNORE_INDEX
from schemas.sample import ShardSample
from schemas.vocab import CLS_ID, IMAGE_OFFSET, PAD_ID, SEP_ID

TASKS: tuple[str, ...] = ("face_to_caption", "caption_to_face", "face_to_attributes", "attributes_to_face")
FACE_TO_CAPTION, CAPTION_TO_FACE, FACE_TO_ATTRIBUTES, ATTRIBUTES_TO_FACE = range(4)
PROMPTS: tuple[str, ...] = ("to caption", "to image", "to attributes", "to image")  # per task
KINDS: tuple[str, ...] = ("caption", "attributes")  # stream order in a batch and in a LoaderPosition
TASK_KIND: tuple[str, ...] = ("caption", "caption", "attributes", "attributes")  # the pairs each task uses


@dataclass(frozen=True)
class Pair:
    """One (face, text) pair taken from a shard sample."""

    key: str  # the sample key (content hash of the face)
    codes: np.ndarray  # (N,) uint16 VQGAN codes, row-major over the grid (256 = 16x16 at f=16, 1,024 at f=8)
    kind: str  # "caption" or "attributes"
    text: str  # the caption or attribute text as stored
    dataset: str  # the dataset the text comes from


def sample_pairs(sample: ShardSample, kind: str) -> list[Pair]:
    """The pairs of one kind that a sample's texts make, in the sample's text order."""
    return [Pair(sample.key, sample.tokens, t.kind, t.text, t.dataset) for t in sample.texts if t.kind == kind]


@dataclass(frozen=True)
class Example:
    """One task sequence: its ids, where segment 2 starts, and the first token that carries a loss."""

    ids: np.ndarray  # (n,) int64: [CLS] prompt [SEP] prefix [SEP] target [SEP]
    n_first: int  # length of segment 1; segment 2 is the rest
    loss_start: int  # index of the first token predicted with a loss (n_first, or later with attribute_key_loss off)
    task: int

    @property
    def segments(self) -> np.ndarray:
        """(n,) segment ids: 1 for the prompt and prefix, 2 for the target."""
        return np.where(np.arange(len(self.ids)) < self.n_first, 1, 2)

    @property
    def labels(self) -> np.ndarray:
        """(n,) labels: labels[i] is ids[i + 1] where token i + 1 carries a loss, else IGNORE_INDEX."""
        labels = np.full(len(self.ids), IGNORE_INDEX, dtype=np.int64)
        labels[self.loss_start - 1 : -1] = self.ids[self.loss_start :]
        return labels


class SequenceBuilder:
    """Lays a pair out as one of the four task sequences of DESIGN.md 3.6, within the text budget."""

    def __init__(self, text_budget: int = 64, attribute_key_loss: bool = True, tokenizer: TextTokenizer | None = None,
                 digits: bool = False):
        if text_budget < 8:
            raise ValueError(f"text_budget={text_budget} is too small for a prefix and one attribute pair; use >= 8")
        self.text_budget = text_budget
        self.attribute_key_loss = attribute_key_loss  # False: no loss on "<prefix> <key>:" of face-to-attributes
        self.digits = tokenizer.digits if tokenizer is not None else digits  # numbers as single digits ("2 5")
        self._tokenizer = tokenizer  # made lazily, so the builder pickles cheaply into loader workers
        self._prompts: dict[int, list[int]] = {}  # [CLS] prompt [SEP] ids per task
        self._punct: tuple[int, int] | None = None  # ids of ';' and ':'

    @property
    def tokenizer(self) -> TextTokenizer:
        """The text tokenizer, loaded on first use."""
        if self._tokenizer is None:
            self._tokenizer = TextTokenizer(digits=True) if self.digits else load_text_tokenizer()
        return self._tokenizer

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_tokenizer": None}

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def _semicolon_colon(self) -> tuple[int, int]:
        if self._punct is None:
            self._punct = (self._ids(";")[0], self._ids(":")[0])
        return self._punct

    def attribute_pairs(self, text: str) -> tuple[list[int], list[list[int]]]:
        """Token ids of an attribute text split into (prefix ids, one id list per ``key: value;`` pair).

        WordPiece splits at white space and punctuation, so the ids of the whole text are the
        prefix's ids followed by each pair's, every pair ending with the id of ';'.
        """
        prefix = text.split(None, 1)[0]
        ids = self._ids(text)
        n_prefix = len(self._ids(prefix))
        semicolon = self._semicolon_colon()[0]
        pairs: list[list[int]] = []
        start = n_prefix
        for i in range(n_prefix, len(ids)):
            if ids[i] == semicolon:
                pairs.append(ids[start : i + 1])
                start = i + 1
        if start != len(ids) or not pairs:
            raise ValueError(f"attribute text {text!r} does not follow '<prefix> <key>: <value>;' (DESIGN.md 3.3)")
        return ids[:n_prefix], pairs

    def attribute_subset(self, text: str, rng: random.Random) -> list[int]:
        """Ids of an attribute text within the budget: the prefix and a random subset of whole pairs, in text order."""
        prefix, pairs = self.attribute_pairs(text)
        if len(prefix) + sum(map(len, pairs)) <= self.text_budget:
            return prefix + [i for p in pairs for i in p]
        order = list(range(len(pairs)))
        rng.shuffle(order)
        room, chosen = self.text_budget - len(prefix), []
        for j in order:
            if len(pairs[j]) <= room:
                chosen.append(j)
                room -= len(pairs[j])
        if not chosen:  # one pair alone is longer than the budget: keep its beginning
            return (prefix + pairs[order[0]])[: self.text_budget]
        return prefix + [i for j in sorted(chosen) for i in pairs[j]]

    def attribute_question(self, text: str, rng: random.Random) -> tuple[list[int], int]:
        """Ids of one random pair as a face-to-attributes target, and where its value starts.

        ``celeba gender: male; smiling: true;`` -> ids of ``celeba smiling: true;`` and the index of
        ``true``: ``celeba smiling:`` opens the target, as the inference template gives it.
        """
        prefix, pairs = self.attribute_pairs(text)
        pair = pairs[rng.randrange(len(pairs))]
        colon = self._semicolon_colon()[1]
        head = len(prefix) + (pair.index(colon) + 1 if colon in pair else 0)
        target = (prefix + pair)[: self.text_budget]
        return target, min(head, len(target))

    def build(self, pair: Pair, task: int, rng: random.Random) -> Example:
        """The sequence of `task` for `pair`; `rng` makes its random choices (attribute subset or question)."""
        image = pair.codes.astype(np.int64) + IMAGE_OFFSET
        prefix: Sequence[int] | np.ndarray
        target: Sequence[int] | np.ndarray
        loss_from = 0  # first target token with a loss
        if task == FACE_TO_CAPTION:
            prefix, target = image, self._ids(pair.text)[: self.text_budget]
        elif task == CAPTION_TO_FACE:
            prefix, target = self._ids(pair.text)[: self.text_budget], image
        elif task == FACE_TO_ATTRIBUTES:
            prefix = image
            target, value_at = self.attribute_question(pair.text, rng)
            loss_from = 0 if self.attribute_key_loss else value_at
        elif task == ATTRIBUTES_TO_FACE:
            prefix, target = self.attribute_subset(pair.text, rng), image
        else:
            raise ValueError(f"task {task} is not one of 0..3 ({', '.join(TASKS)})")
        if task not in self._prompts:
            self._prompts[task] = [CLS_ID, *self._ids(PROMPTS[task]), SEP_ID]
        sep = [SEP_ID]
        ids = np.concatenate([self._prompts[task], prefix, sep, target, sep]).astype(np.int64)  # segment 1 | segment 2
        n_first = len(self._prompts[task]) + len(prefix) + 1
        return Example(ids, n_first, n_first + loss_from, task)


def collate(examples: Sequence[Example]) -> dict[str, torch.Tensor]:
    """Right-pad examples to the longest: ids (PAD), segments (0) and labels (IGNORE_INDEX), plus each task."""
    B, T = len(examples), max(len(e.ids) for e in examples)
    ids = np.full((B, T), PAD_ID, dtype=np.int64)
    segments = np.zeros((B, T), dtype=np.int64)
    labels = np.full((B, T), IGNORE_INDEX, dtype=np.int64)
    for row, e in enumerate(examples):
        n = len(e.ids)
        ids[row, :n] = e.ids
        segments[row, : e.n_first] = 1
        segments[row, e.n_first : n] = 2
        labels[row, e.loss_start - 1 : n - 1] = e.ids[e.loss_start :]
    return {
        "ids": torch.from_numpy(ids),
        "segments": torch.from_numpy(segments),
        "labels": torch.from_numpy(labels),
        "task": torch.tensor([e.task for e in examples]),
    }


def longest_sequence(image_tokens: int, text_budget: int) -> int:
    """Positions the longest task sequence takes: [CLS] to caption [SEP] <image> [SEP] <text> [SEP] (327 at f=16)."""
    return image_tokens + text_budget + 7


def parse_tasks(spec: str) -> list[int]:
    """Task indices from ``"all"`` or comma-separated task names (``face_to_caption,face_to_attributes``)."""
    if spec.strip() == "all":
        return list(range(len(TASKS)))
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in TASKS]
    if unknown or not names:
        raise ValueError(f"tasks {spec!r}: use 'all' or comma-separated names from {', '.join(TASKS)}")
    return sorted({TASKS.index(n) for n in names})
