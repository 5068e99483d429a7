"""The unified vocabulary: BERT WordPiece text ids and VQGAN image codes in one 31,546-token space.

    ids 0 .. 30521      text (BERT-base-uncased; [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103)
    ids 30522 .. 31545  image: id = 30522 + VQGAN code (1,024 codes)

Prompts are plain words (`to image`, `to caption`, `to attributes`), tokenised as text. A
sequence is `[CLS] prompt [SEP] prefix [SEP] target [SEP]` (DESIGN.md 3.6); `split_ids` turns a
generated target back into text ids and image codes. The id numbers are defined in schemas/vocab.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from model.tokenizers.text import TextTokenizer
from schemas.vocab import (
    CLS_ID,
    IMAGE_CODEBOOK_SIZE,
    IMAGE_OFFSET,
    MASK_ID,
    PAD_ID,
    SEP_ID,
    TEXT_VOCAB_SIZE,
    UNK_ID,
    VOCAB_SIZE,
)

PROMPTS = ("to image", "to caption", "to attributes")
PROMPT_IDS: dict[str, tuple[int, ...]] = {  # BERT uncased WordPiece of each prompt
    "to image": (2000, 3746),
    "to caption": (2000, 14408, 3258),  # "capt", "##ion"
    "to attributes": (2000, 12332),
}


def image_ids(codes: Any) -> np.ndarray:
    """VQGAN codes (any shape, 0..1023) -> image token ids (same shape, int64, 30522..31545)."""
    array = np.asarray(codes)
    if array.dtype.kind not in "ui":
        raise ValueError(f"codes must be integers, got dtype {array.dtype}")
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or array.max() >= IMAGE_CODEBOOK_SIZE):
        raise ValueError(f"codes must lie in [0, {IMAGE_CODEBOOK_SIZE}), got [{array.min()}, {array.max()}]")
    return array + IMAGE_OFFSET


def is_image_id(ids: Any) -> Any:
    """Whether each id is an image token id (a bool for an int, a bool array for an array)."""
    array = np.asarray(ids)
    result = (array >= IMAGE_OFFSET) & (array < VOCAB_SIZE)
    return bool(result) if result.ndim == 0 else result


def codes_from_ids(ids: Any) -> np.ndarray:
    """Image token ids (any shape) -> VQGAN codes (same shape, uint16); an error for any other id."""
    array = np.asarray(ids)
    if array.dtype.kind not in "ui":
        raise ValueError(f"ids must be integers, got dtype {array.dtype}")
    wrong = array[~np.asarray(is_image_id(array), dtype=bool)]
    if wrong.size:
        raise ValueError(f"not image ids ({IMAGE_OFFSET}..{VOCAB_SIZE - 1}): {wrong[:5].tolist()}; "
                         "use split_ids for a sequence that mixes text and image ids")
    return (array.astype(np.int64) - IMAGE_OFFSET).astype(np.uint16)


def split_ids(ids: Iterable[int], stop_at_sep: bool = True) -> tuple[list[int], np.ndarray]:
    """A generated id sequence -> (text ids, image codes as uint16), each in its original order.

    Pass the target part the model generated (after the prefix's [SEP]). With `stop_at_sep`
    everything from the first [SEP] on is dropped: a target ends with [SEP] and a sampler may run
    past it. [PAD] and [CLS] are dropped; other text ids (also [UNK]) are kept for the text
    tokenizer, whose decode skips specials. Ids outside the vocabulary raise ValueError.
    """
    text: list[int] = []
    codes: list[int] = []
    for raw in ids:
        i = int(raw)
        if stop_at_sep and i == SEP_ID:
            break
        if not 0 <= i < VOCAB_SIZE:
            raise ValueError(f"id {i} is outside the unified vocabulary (0..{VOCAB_SIZE - 1})")
        if i >= IMAGE_OFFSET:
            codes.append(i - IMAGE_OFFSET)
        elif i not in (PAD_ID, CLS_ID):
            text.append(i)
    return text, np.asarray(codes, dtype=np.uint16)


class Vocabulary:
    """The unified vocabulary: a TextTokenizer plus the image id range and the prompt phrases."""

    size = VOCAB_SIZE
    text_size = TEXT_VOCAB_SIZE
    image_offset = IMAGE_OFFSET
    codebook_size = IMAGE_CODEBOOK_SIZE
    pad_id, unk_id, cls_id, sep_id, mask_id = PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID
    prompts = PROMPTS

    def __init__(self, text: TextTokenizer | None = None, digits: bool = False) -> None:
        self.text = text if text is not None else TextTokenizer(digits=digits)
        if self.text.vocab_size != TEXT_VOCAB_SIZE:
            raise ValueError(f"text tokenizer has {self.text.vocab_size} ids; the unified vocabulary needs "
                             f"BERT-base-uncased's {TEXT_VOCAB_SIZE}")

    def encode_prompt(self, prompt: str) -> list[int]:
        """Text ids of a task prompt (`to image`, `to caption`, `to attributes`)."""
        if prompt not in PROMPT_IDS:
            raise ValueError(f"unknown prompt {prompt!r}; the prompts are {list(PROMPTS)}")
        return list(PROMPT_IDS[prompt])

    def encode_text(self, text: str) -> list[int]:
        """Text ids of a caption or attribute text (no specials)."""
        return self.text.encode(text)

    def decode_text(self, ids: Iterable[int]) -> str:
        """Text of the text ids in `ids` (image ids and specials skipped; stops at [SEP])."""
        return self.text.decode(split_ids(ids)[0])

    image_ids = staticmethod(image_ids)
    codes_from_ids = staticmethod(codes_from_ids)
    is_image_id = staticmethod(is_image_id)
    split_ids = staticmethod(split_ids)
