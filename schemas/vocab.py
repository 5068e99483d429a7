"""The unified vocabulary's id layout (DESIGN.md 3.6), defined once for the data side and the model.

    ids 0 .. 30521      text: BERT-base-uncased WordPiece ([PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103)
    ids 30522 .. 31545  image: id = IMAGE_OFFSET + VQGAN code (1,024 codes, 256 per face)

The image numbers are the defaults of the FFHQ f=16 VQGAN (a 16x16 grid of codes from a
1,024-entry codebook); code that takes a codebook size or a tokens-per-face count as a parameter
defaults to these constants instead of repeating the numbers. The functions on these ids
(`image_ids`, `split_ids`, prompts) are in model/tokenizers/vocab.py.
"""

from __future__ import annotations

TEXT_VOCAB_SIZE = 30522  # BERT-base-uncased WordPiece
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = 0, 100, 101, 102, 103
SPECIAL_IDS = frozenset((PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID))
FIRST_WORD_ID = 999  # BERT-uncased ids below it are [PAD], [unusedN], [UNK], [CLS], [SEP], [MASK]

IMAGE_OFFSET = TEXT_VOCAB_SIZE  # image id = IMAGE_OFFSET + code
IMAGE_CODEBOOK_SIZE = 1024  # FFHQ f=16 VQGAN codebook
IMAGE_TOKENS = 256  # codes per 256x256 face (16x16 grid)
VOCAB_SIZE = TEXT_VOCAB_SIZE + IMAGE_CODEBOOK_SIZE  # 31,546

__all__ = [
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
