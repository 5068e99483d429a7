"""The layout of the token cache: codes of faces already tokenised, keyed by face and tokenizer.

``<cache>/<fingerprint>/<bucket>/<segment>.npy``: ``bucket`` is the first `BUCKET_DIGITS` hex
digits of the face key; a segment is one structured ``.npy`` array of `ROW` (``key``, ``tokens``)
rows, named by the first 16 hex digits of the sha256 of its bytes. A row holds as many codes as the
tokenizer makes per face (`row_dtype`: 256 at f=16, 1,024 at f=8); one fingerprint, one row layout. The pipeline writes segments
(pipeline/cache.py); ``talk2face inspect`` reads them for codebook usage.
"""

from __future__ import annotations

import numpy as np

from schemas.sample import KEY_HEX, TOKENS_PER_IMAGE

BUCKET_DIGITS = 3
SEGMENT_SUFFIX = ".npy"


def row_dtype(tokens_per_face: int = TOKENS_PER_IMAGE) -> np.dtype:
    """One cached face: its 32-hex sample key and its codes."""
    return np.dtype([("key", f"U{KEY_HEX}"), ("tokens", np.uint16, (tokens_per_face,))])


ROW = row_dtype()  # the FFHQ f=16 VQGAN's rows


def bucket_of(key: str) -> str:
    """The cache bucket (and tokenization group) of a face key: its first hex digits."""
    return key[:BUCKET_DIGITS]
