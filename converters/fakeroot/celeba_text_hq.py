"""CelebAText-HQ at scale: ``captions/<idx>.txt`` (10 manual captions), ``data_flist/{train,test}.flist``.

15,010 of the CelebA-HQ indexes; their images are MM-CelebA-HQ's (``mm_celeba_hq/image/``), where the
converter finds them, as when users have not copied them into ``CelebAimg/``. Some files hold
GBK-encoded full-width punctuation (invalid UTF-8, replaced). Planted: an empty caption file
(filtered ``no caption``), an index in neither flist (no split); MM-CelebA-HQ's missing images
are missing here too (one of them is always among the indexes). Captions come from the painter's
`captioned_face` for CelebAText-HQ; its picture is not written (the image is MM-CelebA-HQ's).
"""

from __future__ import annotations

import numpy as np

from converters.fakeroot.captions import pairs
from converters.fakeroot.core import Context, image_rng
from converters.fakeroot.mm_celeba_hq import SIZE
from schemas import Reasons

USES = "mm_celeba_hq"  # whose images this writer reuses: written first (make_root)

REAL = 15_010
GBK = "，".encode("gbk")


def write(ctx: Context) -> None:
    hq = ctx.shared["mm_celeba_hq"]
    n = min(ctx.count(REAL), hq["count"])
    missing = sorted(hq["missing"])
    rest = np.setdiff1d(np.arange(hq["count"]), missing[:1])
    indexes = sorted([*missing[:1], *(int(v) for v in ctx.rng.choice(rest, size=n - len(missing[:1]), replace=False))])
    faults = ctx.pick(n, {"empty": 0.0005, "no split": 0.0003, "gbk": 0.01}, exclude=[indexes.index(m) for m in missing[:1]])
    describe = getattr(ctx.painter, "describe", None)
    if describe is not None:  # the painter knows MM-CelebA-HQ's faces: captions of the face drawn there
        told = [describe(ctx.key, "mm_celeba_hq", {}, image_rng(ctx.seed, "mm_celeba_hq", idx),
                         image_rng(ctx.seed, ctx.key, idx), 10)[1] for idx in indexes]
    else:
        told = ctx.paint([ctx.job(None, SIZE, {}, idx, captions=10) for idx in indexes])
    flists: dict[str, list[str]] = {"train": [], "test": []}
    for i, (idx, captions) in enumerate(zip(indexes, told, strict=True)):
        fault = faults.get(i)
        if fault != "no split":
            flists["train" if i % 10 else "test"].append(f"../data/CelebAimg/{idx}.jpg\n")
        if fault == "empty" or not pairs(captions):
            ctx.text(f"captions/{idx}.txt", "\n \n")
            ctx.tally.filter("no caption")
            continue
        data = b"".join(c.encode() + b"\n" for c in captions)
        if fault == "gbk":
            data = data.replace(b" has ", b" has" + GBK + b" ", 1)
        ctx.bytes(f"captions/{idx}.txt", data)
        if fault == "no split":
            ctx.tally.reject(Reasons.NO_SPLIT)
        elif idx in hq["missing"]:
            ctx.tally.reject(Reasons.IMAGE_MISSING)
        else:
            ctx.tally.write(pairs(captions))
    for split, lines in flists.items():
        ctx.text(f"data_flist/{split}.flist", "".join(lines))
