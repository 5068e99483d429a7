"""FFHQ-Text at scale: CUB-style ``Text/00_Female/<stem>.txt`` (9 descriptions), ``image/<stem>.png`` (64x64),
``train/`` and ``test/filenames.pickle``.

Stems are 5-digit FFHQ ids. Planted: a caption file of blank lines (filtered ``no caption``), a
missing image.
"""

from __future__ import annotations

import pickle

from converters.fakeroot.captions import body, pairs
from converters.fakeroot.core import Context
from schemas import Reasons

REAL = 760
SIZE = (64, 64)


def write(ctx: Context) -> None:
    n = ctx.count(REAL)
    stems = [f"{s:05d}" for s in sorted(ctx.rng.choice(70_000, size=n, replace=False))]
    faults = ctx.pick(n, {"empty": 0.005, "missing": 0.005})
    jobs = [ctx.job(None if faults.get(i) == "missing" else f"image/{stem}.png", SIZE, {}, i, captions=9)
            for i, stem in enumerate(stems)]
    for i, (stem, captions) in enumerate(zip(stems, ctx.paint(jobs), strict=True)):
        fault = faults.get(i)
        if fault == "empty" or not pairs(captions):
            ctx.text(f"Text/00_Female/{stem}.txt", "\n  \n\n")
            ctx.tally.filter("no caption")
            continue
        ctx.text(f"Text/00_Female/{stem}.txt", body(captions))
        ctx.tally.count(fault, {"missing": Reasons.IMAGE_MISSING}, pairs=pairs(captions))
    cut = round(n * 0.9)
    for split, names in (("train", stems[:cut]), ("test", stems[cut:])):
        ctx.bytes(f"{split}/filenames.pickle", pickle.dumps([f"00_Female/{s}" for s in names], protocol=2))
