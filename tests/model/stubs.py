"""Small exact stand-ins for expensive collaborators of the code under test (never for the code under test)."""

from __future__ import annotations

import numpy as np


class StubVQGAN:
    """Codes <-> 256x256 images: each code paints one 16x16 block (R = low byte, G = high bits x 60).

    Decoding then encoding gives the codes back, so template tests can check a face's round trip
    without the cost of a real VQGAN (whose own exactness tests are in test_image_tokenizer.py).
    """

    num_tokens, codebook_size = 256, 1024  # the layout of an f=16 corpus

    def decode(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes, dtype=np.int64).reshape(-1, 16, 16)
        rgb = np.stack([codes & 255, (codes >> 8) * 60, np.full_like(codes, 128)], -1).astype(np.uint8)
        return rgb.repeat(16, axis=1).repeat(16, axis=2)

    def encode(self, images: np.ndarray) -> np.ndarray:
        blocks = np.asarray(images, dtype=np.int64).reshape(-1, 16, 16, 16, 16, 3)
        med = np.median(blocks, axis=(2, 4)).round().astype(np.int64)  # (B, 16, 16, 3)
        return (med[..., 0] + ((med[..., 1] + 30) // 60) * 256).reshape(-1, 256).astype(np.uint16)
