"""Near-duplicate faces: a 64-bit perceptual hash per face, LSH bands to find candidates, Hamming to confirm.

`face_hash` is a DCT perceptual hash (the pHash of Zauner 2010, as ``imagehash.phash`` computes it):
the 256x256 face in grey, box-averaged to 32x32, its 2-D DCT-II, the 8x8 lowest frequencies, each
bit set where a coefficient is above their median. It is our own vectorised numpy code rather than
``imagehash.phash`` because it runs on the pixels LoadFaces has already decoded (no PIL image
round trip, no SciPy DCT) and needs no new dependency; bench/bench_leaks.py measures its cost
(and imagehash's, when installed).

Copies of one photo at another size, JPEG quality or a crop a few pixels off land within a few
bits of each other; distinct faces are ~32 bits apart. A pair is a near-duplicate when its Hamming
distance is at most `threshold` (DEFAULT_THRESHOLD, chosen in bench/RESULTS.md from measured true
and false pairs). Candidates come from banding: the 64 bits are cut into
`threshold` + 1 disjoint bands (5 of 12-13 bits for the default 4) and two faces are compared only
when one band is equal, so every pair within the threshold shares a band (pigeonhole): banding
loses no pair. A mirrored copy hashes differently and is not detected.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

HASH_BITS = 64
DEFAULT_THRESHOLD = 4
DEFAULT_MAX_BUCKET = 2000
_GREY = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as PIL's "L" mode


def _dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix D (n x n): D @ x is the DCT of a column x."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d.astype(np.float32)


_DCT32 = _dct_matrix(32)[:8]  # only the 8 lowest frequencies are kept
_WEIGHTS = (1 << np.arange(HASH_BITS - 1, -1, -1, dtype=np.uint64)).astype(np.uint64)


def face_hash(pixels: np.ndarray) -> int:
    """The 64-bit perceptual hash of a preprocessed face (uint8 RGB, square, side a multiple of 32)."""
    side = pixels.shape[0]
    if pixels.ndim != 3 or pixels.shape[1] != side or pixels.shape[2] != 3 or side % 32:
        raise ValueError(f"face_hash needs square RGB pixels with a side divisible by 32, got {pixels.shape}")
    grey = pixels.astype(np.float32) @ _GREY  # (S, S); measured faster than box-filtering the 3 channels first
    block = side // 32
    small = grey.reshape(32, block, 32, block).mean(axis=(1, 3))  # (32, 32) box filter
    low = _DCT32 @ small @ _DCT32.T  # (8, 8) lowest frequencies
    bits = (low > np.median(low)).ravel()
    return int(np.sum(_WEIGHTS[bits], dtype=np.uint64))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


@dataclass(frozen=True)
class FaceHash:
    """The perceptual hash of one sample's face (LoadFaces makes one per record; only this crosses a shuffle)."""

    key: str
    value: int


def band_keys(value: int, bands: int) -> list[tuple[int, int]]:
    """``(band index, band value)`` for each of `bands` disjoint bit ranges of a 64-bit hash (widths differ by <= 1)."""
    out, start = [], 0
    for b in range(bands):
        width = HASH_BITS // bands + (1 if b < HASH_BITS % bands else 0)
        out.append((b, (value >> start) & ((1 << width) - 1)))
        start += width
    return out


def bands_for(threshold: int) -> int:
    """The fewest disjoint bands such that two hashes within `threshold` bits always share one (pigeonhole)."""
    return threshold + 1


@dataclass(frozen=True)
class BucketResult:
    """What one LSH bucket gave: confirmed pairs ``(key a, key b, distance)`` with a < b, and its size."""

    pairs: tuple[tuple[str, str, int], ...]
    size: int
    compared: int
    hot: bool


def close_pairs(members: Iterable[tuple[str, int]], threshold: int, max_bucket: int) -> BucketResult:
    """Every pair of a bucket within `threshold` bits, vectorised; a bucket over `max_bucket` is left hot.

    A hot bucket (the hash of a flat grey image, say) is not compared: its pairs usually share
    another band too, and it is reported in stats.json so a user can see what was not compared.
    """
    unique = sorted(set(members))
    n = len(unique)
    if n < 2:
        return BucketResult((), n, 0, False)
    if n > max_bucket:
        return BucketResult((), n, 0, True)
    keys = [k for k, _ in unique]
    values = np.array([v for _, v in unique], dtype=np.uint64)
    pairs = []
    for i in range(n - 1):
        distances = _popcount(values[i] ^ values[i + 1 :])
        for j in np.nonzero(distances <= threshold)[0]:
            a, b = keys[i], keys[i + 1 + int(j)]
            if a != b:
                pairs.append((min(a, b), max(a, b), int(distances[j])))
    return BucketResult(tuple(pairs), n, n * (n - 1) // 2, False)


def _popcount(x: np.ndarray) -> np.ndarray:
    """Bits set in each uint64."""
    return np.bitwise_count(x).astype(np.int64)


# --------------------------------------------------------------------------- clusters


class UnionFind:
    """Disjoint sets over string keys; the representative of a set is its smallest key (deterministic)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(x, x) != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo
            self.parent.setdefault(lo, lo)

    def groups(self, keys: Sequence[str] | Iterable[str]) -> Iterator[list[str]]:
        by_root: dict[str, list[str]] = {}
        for k in sorted(set(keys)):
            by_root.setdefault(self.find(k), []).append(k)
        yield from (by_root[r] for r in sorted(by_root))
