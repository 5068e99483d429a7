"""Near-duplicate detector: recall on planted copies, false merges on distinct fake faces, hashing + LSH cost.

    PYTHONPATH=. python bench/bench_leaks.py [--faces 2000]

Faces are the demo fakes' generator (`converters.fakes.fake_face`, seeded) at CelebA's 178x218,
through the real preprocessing (`model.tokenizers.faces.decode_face`). Planted copies: resized (0.5x, 2x),
re-encoded at JPEG quality 30/50/75, re-cropped by 2/4/8 pixels per side, mirrored. Recall is the
share of copies within the threshold; false merges count distinct-face pairs within it (all pairs
computed exactly). Cost: `face_hash` per face, and `close_pairs` over the LSH buckets of all faces.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import time

import numpy as np
from PIL import Image

from converters.fakes import fake_face
from model.tokenizers.faces import decode_face
from pipeline.neardup import DEFAULT_THRESHOLD, band_keys, bands_for, close_pairs, face_hash

COPIES = {
    "resize 0.5x": lambda im: _jpeg(im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)),
    "resize 2x": lambda im: _jpeg(im.resize((im.width * 2, im.height * 2), Image.Resampling.LANCZOS)),
    "jpeg q30": lambda im: _jpeg(im, 30),
    "jpeg q50": lambda im: _jpeg(im, 50),
    "jpeg q75": lambda im: _jpeg(im, 75),
    "crop 2px": lambda im: _jpeg(im.crop((2, 2, im.width - 2, im.height - 2))),
    "crop 4px": lambda im: _jpeg(im.crop((4, 4, im.width - 4, im.height - 4))),
    "crop 8px": lambda im: _jpeg(im.crop((8, 8, im.width - 8, im.height - 8))),
    "mirror": lambda im: _jpeg(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
}


def _jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def popcount_matrix(hashes: np.ndarray) -> np.ndarray:
    return np.bitwise_count(hashes[:, None] ^ hashes[None, :])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", type=int, default=2000)
    ap.add_argument("--recall-faces", type=int, default=300)
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    originals = [fake_face(50_000 + i, (178, 218)) for i in range(args.faces)]
    pixels = [decode_face(_jpeg(im)) for im in originals]

    start = time.perf_counter()
    hashes = np.array([face_hash(p) for p in pixels], dtype=np.uint64)
    hash_s = time.perf_counter() - start
    try:
        import imagehash

        start = time.perf_counter()
        for p in pixels[:500]:
            imagehash.phash(Image.fromarray(p))
        ref = (time.perf_counter() - start) / min(500, len(pixels))
        print(f"imagehash.phash: {1 / ref:,.0f} faces/s (for comparison)")
    except ImportError:
        print("imagehash not installed: no comparison")
    print(f"face_hash: {len(pixels) / hash_s:,.0f} faces/s ({hash_s / len(pixels) * 1e6:.0f} us/face)")

    distances = popcount_matrix(hashes)[np.triu_indices(len(hashes), 1)]
    print(f"distinct pairs: {len(distances):,}; min distance {distances.min()}, mean {distances.mean():.1f}")
    for t in (2, 4, 6, 8, 10):
        print(f"  threshold {t:2d}: false merges {(distances <= t).sum()} ({(distances <= t).mean():.2e} of pairs)")

    print(f"recall on planted copies of {args.recall_faces} faces:")
    for name, make in COPIES.items():
        d = np.array([bin(int(h) ^ face_hash(decode_face(make(im)))).count("1")
                      for im, h in zip(originals[:args.recall_faces], hashes, strict=False)])
        cells = "  ".join(f"t{t}: {(d <= t).mean():6.1%}" for t in (2, 4, 6, 8))
        print(f"  {name:12s} median {np.median(d):4.0f}  {cells}")

    for threshold in (DEFAULT_THRESHOLD, 6):
        bands = bands_for(threshold)
        start = time.perf_counter()
        buckets: dict[tuple[int, int], list[tuple[str, int]]] = {}
        for i, h in enumerate(hashes):
            for band in band_keys(int(h), bands):
                buckets.setdefault(band, []).append((f"{i:08d}", int(h)))
        pairs, compared = set(), 0
        for members in buckets.values():
            result = close_pairs(members, threshold, 2000)
            compared += result.compared
            pairs.update((a, b) for a, b, _ in result.pairs)
        lsh_s = time.perf_counter() - start
        exact = int((distances <= threshold).sum())
        print(f"LSH threshold {threshold} ({bands} bands): {len(hashes) / lsh_s:,.0f} faces/s, {compared:,} pairs compared, "
              f"largest bucket {max(map(len, buckets.values()))}, pairs found {len(pairs)} of {exact} exact")


if __name__ == "__main__":
    main()
