"""CelebA-Dialog (CelebA release) at scale: ``celeba_caption/captions.json``, the attr lists, ``combined_annotation.txt``.

One captions.json entry per CelebA image, over CelebA's own ``img_align_celeba`` (written by the
CelebA writer: the same files, as the real dataset). Planted: null and empty ``overall_caption``
(filtered ``no caption``), a levels line with a non-number (malformed), a level 7 (unknown label),
images in no list (21 in the real release: split by hash, no levels); CelebA's missing images are
missing here too. Captions come from the painter's `captioned_face` for CelebA-Dialog; its picture
is not written (the image is CelebA's).
"""

from __future__ import annotations

import json

from converters.celeba_dialog import LABEL_NAMES
from converters.fakeroot.celeba import SIZE
from converters.fakeroot.core import Context, image_rng
from converters.fakes.signal import dialog_levels
from schemas import Reasons, normalize_caption

USES = "celeba"  # whose images this writer reuses: written first (make_root)

LISTS = {"train": "train_attr_list.txt", "val": "val_attr_list.txt", "test": "test_attr_list.txt"}


def write(ctx: Context) -> None:
    celeba = ctx.shared["celeba"]
    names: list[str] = celeba["names"]
    n = len(names)
    missing = [i for i, name in enumerate(names) if name in celeba["missing"]]
    faults = ctx.pick(n, {"null": 0.0003, "empty": 0.0003, "bad line": 0.0002, "level 7": 0.0002, "unlisted": 0.0001},
                      exclude=missing)
    levels = ctx.rng.integers(0, 6, size=(n, len(LABEL_NAMES)))
    wanted = [i for i in range(n) if faults.get(i) not in ("null", "empty")]
    describe = getattr(ctx.painter, "describe", None)
    if describe is not None:  # the painter knows CelebA's faces: levels and captions of the face CelebA drew
        told = []
        for i in range(n):
            spec, text = describe("celeba_dialog", "celeba", celeba["labels"][i], image_rng(ctx.seed, "celeba", i),
                                  image_rng(ctx.seed, ctx.key, i), 1)
            levels[i] = [dialog_levels(spec)[name] for name in LABEL_NAMES]
            told.append(text)
        captions = iter([told[i] for i in wanted])
    else:
        captions = iter(ctx.paint([ctx.job(None, SIZE, dict(zip(LABEL_NAMES, map(int, levels[i]))), i, captions=1)
                                   for i in wanted]))
    entries: dict[str, object] = {}
    lists: dict[str, list[str]] = {split: [] for split in LISTS}
    combined = ["image_name Bangs Eyeglasses No_Beard Smiling Young\n"]
    for i, name in enumerate(names):
        fault = faults.get(i)
        caption: str | None = "" if fault == "empty" else None if fault == "null" else next(captions)[0]
        entries[name] = {"attribute_wise_captions": {"Bangs": "", "Eyeglasses": None, "No_Beard": "", "Smiling": "",
                                                     "Young": ""}, "overall_caption": caption}
        row = [str(v) for v in levels[i]]
        if fault == "bad line":
            row[2] = "x"
        elif fault == "level 7":
            row[3] = "7"
        if fault != "unlisted":
            line = " ".join([name, *row]) + "\n"
            lists[celeba["split"][name]].append(line)
            combined.append(line)
        if fault in ("null", "empty"):
            ctx.tally.filter("no caption")
        elif fault == "bad line":
            ctx.tally.reject(Reasons.MALFORMED)
        elif fault == "level 7":
            ctx.tally.reject(Reasons.UNKNOWN_LABEL)
        elif not normalize_caption(caption or ""):
            ctx.tally.filter("no caption")  # a painter's blank caption
        elif i in missing:
            ctx.tally.reject(Reasons.IMAGE_MISSING)
        else:
            ctx.tally.write()
    ctx.text("celeba_caption/captions.json", json.dumps(entries, indent=1) + "\n")
    for split, rel in LISTS.items():
        ctx.text(rel, "".join(lists[split]))
    ctx.text("combined_annotation.txt", "".join(combined))
