"""The unified vocabulary: BERT WordPiece text ids and VQGAN image codes in one space (31,546 ids at f=16).

    ids 0 .. 30521      text (BERT-base-uncased; [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103)
    ids 30522 ..        image: id = 30522 + VQGAN code (1,024 codes for the FFHQ f=16 VQGAN, up to 31545)

A corpus made with another tokenizer (the f=8 Gumbel VQGAN's 8,192 codes) has another
`schemas.vocab.VocabLayout`; every function here takes one, defaulting to the f=16 layout.

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
    DEFAULT_LAYOUT,
    IMAGE_OFFSET,
    MASK_ID,
    PAD_ID,
    SEP_ID,
    TEXT_VOCAB_SIZE,
    UNK_ID,
    VocabLayout,
)
from schemas.vocab import IMAGE_CODEBOOK_SIZE as IMAGE_CODEBOOK_SIZE  # re-exported: the f=16 defaults
from schemas.vocab import VOCAB_SIZE as VOCAB_SIZE

PROMPTS = ("to image", "to caption", "to attributes")
PROMPT_IDS: dict[str, tuple[int, ...]] = {  # BERT uncased WordPiece of each prompt
    "to image": (2000, 3746),
    "to caption": (2000, 14408, 3258),  # "capt", "##ion"
    "to attributes": (2000, 12332),
}


def image_ids(codes: Any, layout: VocabLayout = DEFAULT_LAYOUT) -> np.ndarray:
    """VQGAN codes (any shape, 0..codebook_size-1) -> image token ids (same shape, int64; 30522..31545 at f=16)."""
    array = np.asarray(codes)
    if array.dtype.kind not in "ui":
        raise ValueError(f"codes must be integers, got dtype {array.dtype}")
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or array.max() >= layout.codebook_size):
        raise ValueError(f"codes must lie in [0, {layout.codebook_size}), got [{array.min()}, {array.max()}]")
    return array + IMAGE_OFFSET


def is_image_id(ids: Any, layout: VocabLayout = DEFAULT_LAYOUT) -> Any:
    """Whether each id is an image token id (a bool for an int, a bool array for an array)."""
    array = np.asarray(ids)
    result = (array >= IMAGE_OFFSET) & (array < layout.image_stop)
    return bool(result) if result.ndim == 0 else result


def codes_from_ids(ids: Any, layout: VocabLayout = DEFAULT_LAYOUT) -> np.ndarray:
    """Image token ids (any shape) -> VQGAN codes (same shape, uint16); an error for any other id."""
    array = np.asarray(ids)
    if array.dtype.kind not in "ui":
        raise ValueError(f"ids must be integers, got dtype {array.dtype}")
    wrong = array[~np.asarray(is_image_id(array, layout), dtype=bool)]
    if wrong.size:
        raise ValueError(f"not image ids ({IMAGE_OFFSET}..{layout.image_stop - 1}): {wrong[:5].tolist()}; "
                         "use split_ids for a sequence that mixes text and image ids")
    return (array.astype(np.int64) - IMAGE_OFFSET).astype(np.uint16)


def split_ids(ids: Iterable[int], stop_at_sep: bool = True, layout: VocabLayout = DEFAULT_LAYOUT) -> tuple[list[int], np.ndarray]:
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
        if not 0 <= i < layout.vocab_size:
            raise ValueError(f"id {i} is outside the unified vocabulary (0..{layout.vocab_size - 1})")
        if i >= IMAGE_OFFSET:
            codes.append(i - IMAGE_OFFSET)
        elif i not in (PAD_ID, CLS_ID):
            text.append(i)
    return text, np.asarray(codes, dtype=np.uint16)


class Vocabulary:
    """The unified vocabulary: a TextTokenizer plus the image id range (of `layout`) and the prompt phrases."""

    text_size = TEXT_VOCAB_SIZE
    image_offset = IMAGE_OFFSET
    pad_id, unk_id, cls_id, sep_id, mask_id = PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID
    prompts = PROMPTS

    def __init__(self, text: TextTokenizer | None = None, digits: bool = False,
                 layout: VocabLayout = DEFAULT_LAYOUT) -> None:
        self.layout = layout
        self.size = layout.vocab_size
        self.codebook_size = layout.codebook_size
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
        return self.text.decode(split_ids(ids, layout=self.layout)[0])

    def image_ids(self, codes: Any) -> np.ndarray:
        """`image_ids` in this vocabulary's layout."""
        return image_ids(codes, self.layout)

    def codes_from_ids(self, ids: Any) -> np.ndarray:
        """`codes_from_ids` in this vocabulary's layout."""
        return codes_from_ids(ids, self.layout)

    def is_image_id(self, ids: Any) -> Any:
        """`is_image_id` in this vocabulary's layout."""
        return is_image_id(ids, self.layout)

    def split_ids(self, ids: Iterable[int], stop_at_sep: bool = True) -> tuple[list[int], np.ndarray]:
        """`split_ids` in this vocabulary's layout."""
        return split_ids(ids, stop_at_sep, self.layout)
