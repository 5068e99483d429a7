"""The unified vocabulary's id layout (DESIGN.md 3.6), defined once for the data side and the model.

    ids 0 .. 30521      text: BERT-base-uncased WordPiece ([PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103)
    ids 30522 .. 31545  image: id = IMAGE_OFFSET + VQGAN code (1,024 codes, 256 per face)

The image numbers are the defaults of the FFHQ f=16 VQGAN (a 16x16 grid of codes from a
1,024-entry codebook); code that takes a codebook size or a tokens-per-face count as a parameter
defaults to these constants instead of repeating the numbers. A corpus built with another tokenizer
(the f=8 Gumbel VQGAN of Table 5: 8,192 codes, 1,024 per face) has its own `VocabLayout`: image ids
``30522 .. 30522 + codebook_size - 1``, ``30522 + codebook_size`` ids in all. The functions on these ids
(`image_ids`, `split_ids`, prompts) are in model/tokenizers/vocab.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEXT_VOCAB_SIZE = 30522  # BERT-base-uncased WordPiece
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = 0, 100, 101, 102, 103
SPECIAL_IDS = frozenset((PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID))
FIRST_WORD_ID = 999  # BERT-uncased ids below it are [PAD], [unusedN], [UNK], [CLS], [SEP], [MASK]

IMAGE_OFFSET = TEXT_VOCAB_SIZE  # image id = IMAGE_OFFSET + code
IMAGE_CODEBOOK_SIZE = 1024  # FFHQ f=16 VQGAN codebook
IMAGE_TOKENS = 256  # codes per 256x256 face (16x16 grid)
VOCAB_SIZE = TEXT_VOCAB_SIZE + IMAGE_CODEBOOK_SIZE  # 31,546

MAX_CODEBOOK_SIZE = 65536  # codes are stored as uint16


@dataclass(frozen=True)
class VocabLayout:
    """Where the image ids of one corpus's tokenizer sit in the unified vocabulary (text ids never move)."""

    codebook_size: int = IMAGE_CODEBOOK_SIZE  # distinct codes of the image tokenizer
    tokens_per_image: int = IMAGE_TOKENS  # codes per face (grid side squared)

    def __post_init__(self) -> None:
        if not 0 < self.codebook_size <= MAX_CODEBOOK_SIZE:
            raise ValueError(f"codebook_size {self.codebook_size} must be 1..{MAX_CODEBOOK_SIZE} (uint16 codes)")
        if self.tokens_per_image < 1:
            raise ValueError(f"tokens_per_image {self.tokens_per_image} must be >= 1")

    @property
    def image_offset(self) -> int:
        """The id of code 0."""
        return IMAGE_OFFSET

    @property
    def image_stop(self) -> int:
        """One past the id of the last code."""
        return IMAGE_OFFSET + self.codebook_size

    @property
    def vocab_size(self) -> int:
        """Text ids plus one id per code (31,546 for the FFHQ f=16 VQGAN, 38,714 for the f=8 Gumbel VQGAN)."""
        return TEXT_VOCAB_SIZE + self.codebook_size

    @classmethod
    def for_vocab(cls, vocab_size: int, tokens_per_image: int = IMAGE_TOKENS) -> VocabLayout:
        """The layout of a model whose output layer has `vocab_size` ids."""
        return cls(vocab_size - TEXT_VOCAB_SIZE, tokens_per_image)

    def to_dict(self) -> dict[str, int]:
        """Plain types, for checkpoints."""
        return {"codebook_size": self.codebook_size, "tokens_per_image": self.tokens_per_image}

    @classmethod
    def from_dict(cls, values: Any) -> VocabLayout:
        """The inverse of `to_dict`."""
        return cls(int(values["codebook_size"]), int(values["tokens_per_image"]))


DEFAULT_LAYOUT = VocabLayout()  # the FFHQ f=16 VQGAN's

__all__ = [
    "DEFAULT_LAYOUT",
    "MAX_CODEBOOK_SIZE",
    "VocabLayout",
    "CLS_ID",
    "FIRST_WORD_ID",
    "IMAGE_CODEBOOK_SIZE",
    "IMAGE_OFFSET",
    "IMAGE_TOKENS",
    "MASK_ID",
    "PAD_ID",
    "SEP_ID",
    "SPECIAL_IDS",
    "TEXT_VOCAB_SIZE",
    "UNK_ID",
    "VOCAB_SIZE",
]
