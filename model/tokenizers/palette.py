"""A fast stand-in image tokenizer for pipeline work: each 16x16 patch becomes the nearest of 1,024 colours.

NOT A VQGAN. It learns nothing and its codes say only "this patch is roughly this colour": use it to
exercise and time a build (``--vqgan-preset palette``) at thousands of faces per second per core,
never to train a model that should draw faces. It has the public surface of
`model.tokenizers.vqgan.ImageTokenizer` that the pipeline and the model use: ``encode`` (B, 256, 256, 3)
uint8 -> (B, 256) uint16 row-major over the 16x16 grid, ``decode``, ``fingerprint``, ``num_tokens``,
``codebook_size``, ``resolution``, plus ``kind = "palette"`` and ``grid_side = 16``.

The palette is a fixed RGB lattice of 8 red x 16 green x 8 blue levels (green, to which the eye is most
sensitive, gets the most), code ``(r * 16 + g) * 8 + b``. Because the lattice is a product of per-channel
levels, the Euclidean-nearest palette colour is the nearest level per channel, found exactly with
`np.searchsorted` over the midpoints (a tie goes to the lower level, i.e. the lowest code).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)

LEVELS = (8, 16, 8)  # red, green, blue
RESOLUTION, PATCH = 256, 16
GRID = RESOLUTION // PATCH  # 16


def _levels(n: int) -> np.ndarray:
    return np.round(np.arange(n) * 255.0 / (n - 1)).astype(np.uint8)


def palette() -> np.ndarray:
    """The 1,024 colours (1024, 3) uint8, indexed by code."""
    r, g, b = (_levels(n) for n in LEVELS)
    return np.stack(np.meshgrid(r, g, b, indexing="ij"), axis=-1).reshape(-1, 3)


class PaletteTokenizer:
    """NOT A VQGAN: patch-mean colour quantisation to a fixed 1,024-colour palette (see the module docstring)."""

    kind = "palette"
    grid_side = GRID

    def __init__(self, batch_size: int = 256) -> None:
        logger.warning("PaletteTokenizer is NOT A VQGAN: each 16x16 patch becomes the nearest of 1,024 fixed colours. "
                       "Its codes are for pipeline trials and timing only; tokenise real corpora with the FFHQ VQGAN.")
        self.batch_size = batch_size
        self.device = torch.device("cpu")
        self.palette = palette()
        self._mids = [((lv[1:].astype(np.float32) + lv[:-1]) / 2) for lv in (_levels(n) for n in LEVELS)]
        # (768, 48) 0/1 matrix: a pixel row's 256 x 3 values -> the sums of its 16 patches' columns, per channel
        px = np.arange(RESOLUTION * 3)
        self._columns = np.zeros((RESOLUTION * 3, GRID * 3), dtype=np.float32)
        self._columns[px, (px // (PATCH * 3)) * 3 + px % 3] = 1.0
        digest = hashlib.sha256(b"talk2face palette tokenizer v1|" + repr((LEVELS, PATCH, RESOLUTION)).encode())
        digest.update(self.palette.tobytes())
        self._fingerprint = "palette-" + digest.hexdigest()[:16]

    @property
    def fingerprint(self) -> str:
        """Names this tokenizer in token caches and manifests; differs from every VQGAN's."""
        return self._fingerprint

    @property
    def num_tokens(self) -> int:
        return GRID * GRID

    @property
    def codebook_size(self) -> int:
        return len(self.palette)

    @property
    def resolution(self) -> int:
        return RESOLUTION

    def __repr__(self) -> str:
        return f"PaletteTokenizer(NOT A VQGAN, kind={self.kind!r}, codes={self.codebook_size}, fingerprint={self.fingerprint})"

    def describe(self) -> str:
        return "palette (NOT A VQGAN: 16x16 patch colours, 1,024-colour lattice)"

    def nearest(self, colours: np.ndarray) -> np.ndarray:
        """Codes of the nearest palette colours to float RGB values (..., 3)."""
        idx = [np.searchsorted(self._mids[c], colours[..., c], side="left") for c in range(3)]
        return ((idx[0] * LEVELS[1] + idx[1]) * LEVELS[2] + idx[2]).astype(np.uint16)

    def encode(self, images: Any, batch_size: int | None = None) -> np.ndarray:
        """Faces (B, 256, 256, 3) uint8 RGB -> codes (B, 256) uint16, row-major over the 16x16 grid."""
        images = self._check_images(images)
        n = images.shape[0]
        codes = np.empty((n, self.num_tokens), dtype=np.uint16)
        step = batch_size or self.batch_size
        for start in range(0, n, step):
            chunk = images[start:start + step]
            b = len(chunk)
            # rows of a patch first (adds whole 768-byte rows: fast), then the 16 columns of each patch
            rows = chunk.reshape(b, GRID, PATCH, RESOLUTION * 3).sum(axis=2, dtype=np.uint16)  # (b, 16, 768)
            sums = (rows.astype(np.float32) @ self._columns).reshape(b, GRID, GRID, 3)  # exact: integers < 2**24
            means = sums / (PATCH * PATCH)  # exact: multiples of 1/256
            codes[start:start + len(chunk)] = self.nearest(means).reshape(len(chunk), -1)
        return codes

    def decode(self, codes: Any, batch_size: int | None = None) -> np.ndarray:
        """Codes (B, 256) in [0, 1024) -> faces (B, 256, 256, 3) uint8, each patch painted its palette colour."""
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != self.num_tokens:
            raise ValueError(f"codes must be shaped (B, {self.num_tokens}), got {codes.shape}")
        if codes.size and (codes.min() < 0 or codes.max() >= self.codebook_size):
            raise ValueError(f"codes must be in [0, {self.codebook_size}), got {codes.min()}..{codes.max()}")
        n = codes.shape[0]
        colours = self.palette[codes.astype(np.int64)].reshape(n, GRID, GRID, 3)
        rows = np.repeat(colours, PATCH, axis=2).reshape(n, GRID, 1, RESOLUTION * 3)  # one pixel row per patch row
        out = np.empty((n, RESOLUTION, RESOLUTION, 3), dtype=np.uint8)
        out.reshape(n, GRID, PATCH, RESOLUTION * 3)[:] = rows
        return out

    def _check_images(self, images: Any) -> np.ndarray:
        array = np.asarray(images)
        if array.dtype != np.uint8:
            raise ValueError(f"images must be uint8 RGB (0..255), got dtype {array.dtype}")
        if array.ndim != 4 or array.shape[1:] != (RESOLUTION, RESOLUTION, 3):
            raise ValueError(f"images must be shaped (B, {RESOLUTION}, {RESOLUTION}, 3) RGB, got {array.shape}")
        return np.ascontiguousarray(array)
