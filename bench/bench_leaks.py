"""Near-duplicate detector: recall on planted copies, false merges on distinct fake faces, hashing + LSH cost.

    PYTHONPATH=. python bench/bench_leaks.py [--faces 2000]
    PYTHONPATH=. python bench/bench_leaks.py --root /tmp/scale/root-0.1   # the detector over a fake root's faces

Faces are the demo fakes' generator (`converters.fakes.fake_face`, seeded) at CelebA's 178x218,
through the real preprocessing (`model.tokenizers.faces.decode_face`). Planted copies: resized (0.5x, 2x),
re-encoded at JPEG quality 30/50/75, re-cropped by 2/4/8 pixels per side, mirrored. Recall is the
share of copies within the threshold; false merges count distinct-face pairs within it (all pairs
computed exactly). Cost: `face_hash` per face, and `close_pairs` over the LSH buckets of all faces.

With ``--root``, every picture of a full-size synthetic raw root (``python -m converters fake-root``)
goes through the build's own steps in one process: `decode_face`, one face per distinct pixels (as
DedupeByContent), `face_hash`, LSH bands, `close_pairs` and a union-find; it prints the cost per
record of each step and the pairs and clusters found (the root plants no near-duplicates, so every
pair is a false merge).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image

from converters.fakes import fake_face
from model.tokenizers.faces import decode_face
from pipeline.neardup import (
    DEFAULT_MAX_BUCKET,
    DEFAULT_THRESHOLD,
    UnionFind,
    band_keys,
    bands_for,
    close_pairs,
    face_hash,
)

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


def over_root(root: Path, threshold: int) -> None:
    """The detector over every picture of a fake root, step by step, with its cost per record."""
    records = sum(d["read"] for d in json.loads((root / "expected.json").read_text())["datasets"].values())
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    start, decode_s, hash_s = time.perf_counter(), 0.0, 0.0
    hashes: dict[str, int] = {}  # one perceptual hash per distinct face (pixels are not kept: ~200 KB each)
    for path in files:
        cpu0 = time.process_time()
        pixels = decode_face(path.read_bytes())
        key = hashlib.sha256(pixels.tobytes()).hexdigest()[:16]
        cpu1 = time.process_time()
        decode_s += cpu1 - cpu0
        if key not in hashes:
            hashes[key] = face_hash(pixels)
            hash_s += time.process_time() - cpu1
    cpu0 = time.process_time()
    buckets: dict[tuple[int, int], list[tuple[str, int]]] = {}
    for key, value in hashes.items():
        for band in band_keys(value, bands_for(threshold)):
            buckets.setdefault(band, []).append((key, value))
    pairs, compared, hot = set(), 0, 0
    for members in buckets.values():
        result = close_pairs(members, threshold, DEFAULT_MAX_BUCKET)
        compared, hot = compared + result.compared, hot + result.hot
        pairs.update((a, b) for a, b, _ in result.pairs)
    clusters = UnionFind()
    for a, b in sorted(pairs):
        clusters.union(a, b)
    linked = {k for pair in pairs for k in pair}
    lsh_s = time.process_time() - cpu0
    print(f"root {root}: {records:,} records, {len(files):,} pictures, {len(hashes):,} distinct faces; "
          f"{time.perf_counter() - start:.0f} s wall")
    print(f"  decode_face + exact dedupe: {decode_s / records * 1e6:,.0f} CPU-us per record (not the detector's: "
          "LoadFaces decodes every face anyway)")
    print(f"  face_hash: {hash_s / records * 1e6:,.0f} CPU-us per record ({hash_s / len(hashes) * 1e6:,.0f} per face)")
    print(f"  bands + close_pairs + union-find: {lsh_s / records * 1e6:,.0f} CPU-us per record; {len(buckets):,} "
          f"buckets, largest {max(map(len, buckets.values()))}, hot {hot}, {compared:,} pairs compared")
    print(f"  near-duplicate pairs within {threshold} bits: {len(pairs)}, samples in clusters: {len(linked)}, clusters: "
          f"{len(list(clusters.groups(linked)))}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", type=int, default=2000)
    ap.add_argument("--recall-faces", type=int, default=300)
    ap.add_argument("--root", type=Path, help="run the detector over this fake root's pictures instead")
    ap.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD)
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    if args.root:
        over_root(args.root, args.threshold)
        return
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
