"""MM-CelebA-HQ at scale: ``text/celeba-caption/<idx>.txt`` (10 lines), ``train/`` and ``test/filenames.pickle``
(24,000 / 6,000 stems), ``image/<idx>.jpg`` (64x64: the CelebA-HQ images, which CelebAText-HQ uses too).

Planted: an empty caption file (filtered ``no caption``), an index in neither pickle (no split),
a missing image (also missing for CelebAText-HQ).
"""

from __future__ import annotations

import pickle

from converters.fakeroot.captions import body, pairs
from converters.fakeroot.core import Context
from schemas import Reasons

REAL = 30_000
SIZE = (64, 64)


def write(ctx: Context) -> None:
    n = ctx.count(REAL)
    faults = ctx.pick(n, {"empty": 0.0003, "no split": 0.0002, "missing": 0.0003})
    jobs = [ctx.job(None if faults.get(i) == "missing" else f"image/{i}.jpg", SIZE, {}, i, captions=10) for i in range(n)]
    cut = round(n * 0.8)
    splits: dict[str, list[str]] = {"train": [], "test": []}
    for i, captions in enumerate(ctx.paint(jobs)):
        fault = faults.get(i)
        if fault != "no split":
            splits["train" if i < cut else "test"].append(str(i))
        if fault == "empty" or not pairs(captions):
            ctx.text(f"text/celeba-caption/{i}.txt", "\n\n")
            ctx.tally.filter("no caption")
            continue
        ctx.text(f"text/celeba-caption/{i}.txt", body(captions))
        ctx.tally.count(fault, {"no split": Reasons.NO_SPLIT, "missing": Reasons.IMAGE_MISSING}, pairs=pairs(captions))
    for split, names in splits.items():
        ctx.bytes(f"{split}/filenames.pickle", pickle.dumps(names, protocol=2))
    ctx.shared["mm_celeba_hq"] = {"count": n, "missing": {i for i, f in faults.items() if f == "missing"}}
