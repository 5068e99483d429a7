"""A fake CelebA-Dialog: ``captions.json``, the three attr lists and ``combined_annotation.txt``.

15 captions.json entries: 8 written (5 train, 1 val, 2 test; two of the train ones are in no attr
list and split by the hash of their name, one of them with levels from combined_annotation.txt, one
with none); 3 filtered ``no caption`` (overall_caption null, empty, missing); rejected: a levels line
with a non-number and an entry that is a string (2 ``malformed line``), a level 7 (``unknown label``),
image 7 missing (the fake CelebA has no ``000007.jpg`` either). Image 3 is in the attr lists but not in
captions.json, as ``5380.jpg`` is in the HQ release: it is not a record.
Variants: ``celeba`` (the CelebA release without images: the test adds the fake ``celeba/`` beside it,
which holds ``img_align_celeba``), ``own`` (the images in this folder's ``img_align_celeba/``, CRLF lists
with trailing spaces), ``hq`` (the HQ release inside ``CelebA-Dialog (HQ)/``: ``text/captions_hq.json``,
``image/<idx>.jpg``, names ``0.jpg``.., image 3 named ``5380.jpg``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from converters.fakes import fake_face, save_image, write_text

TRAIN, VAL, TEST = (1, 2, 3, 4, 6, 7), (8, 9), (10, 11)
COMBINED_ONLY, UNLABELLED = 12, 5  # in no attr list: levels from combined_annotation.txt / none at all
ABSENT = 3  # in the attr lists, not in captions.json (the HQ release's 5380.jpg)
BAD_LINE, BAD_LEVEL, MISSING_IMAGE = 6, 9, 7
NULL_CAPTION, EMPTY_CAPTION, NO_CAPTION_KEY, NOT_AN_OBJECT = 13, 14, 15, 16
ENTRIES = (1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
IMAGES = tuple(i for i in range(1, 13) if i != MISSING_IMAGE)  # as the fake CelebA has them

BANGS = ("Her whole forehead is visible without any fringe.", "She has very short bangs.", "She has medium bangs.",
         "Her bangs cover half her forehead.", "She has long bangs.", "Her bangs cover her whole forehead.")
GLASSES = ("no eyeglasses", "rimless eyeglasses", "thin-framed eyeglasses", "thick-framed eyeglasses",
           "thin-framed sunglasses", "thick-framed sunglasses")
SMILES = ("is not smiling", "has a small smile", "smiles a little", "is smiling", "has a big smile", "has a beaming face")
AGES = ("a child", "a teenager", "a young adult", "middle-aged", "in her fifties", "elderly")


def name(i: int, hq: bool) -> str:
    if hq:
        return "5380.jpg" if i == ABSENT else f"{i}.jpg"
    return f"{i:06d}.jpg"


def levels(i: int) -> list[int]:
    rng = np.random.default_rng(900 + i)
    values = [int(v) for v in rng.integers(0, 6, 5)]
    values[2] = 0  # No_Beard level 0: these are all women
    return values


def entry(i: int) -> object:
    bangs, glasses, _, smile, age = levels(i)
    if i == NOT_AN_OBJECT:
        return "This lady is smiling."
    out: dict[str, object] = {
        "attribute_wise_captions": {
            "Bangs": BANGS[bangs], "Eyeglasses": f"This female is wearing {GLASSES[glasses]}.", "No_Beard": "",
            "Smiling": None if i % 4 == 0 else f"She {SMILES[smile]}.", "Young": f"This woman is {AGES[age]}.",
        },
        "overall_caption": f"This lady has {GLASSES[glasses]}. This woman is {AGES[age]} and {SMILES[smile]}.",
    }
    if i == NULL_CAPTION:
        out["overall_caption"] = None
    elif i == EMPTY_CAPTION:
        out["overall_caption"] = " "
    elif i == NO_CAPTION_KEY:
        del out["overall_caption"]
    return out


def line(i: int, hq: bool) -> str:
    values = [str(v) for v in levels(i)]
    if i == BAD_LINE:
        values[2] = "x"
    if i == BAD_LEVEL:
        values[3] = "7"
    return " ".join([name(i, hq), *values])


def make(folder: Path, variant: str = "celeba") -> None:
    folder = Path(folder)
    hq = variant == "hq"
    if hq:
        folder = folder / "CelebA-Dialog (HQ)"
    crlf = variant == "own"
    end = "  \n" if crlf else "\n"
    captions = {name(i, hq): entry(i) for i in ENTRIES}
    json_path = folder / ("text/captions_hq.json" if hq else "celeba_caption/captions.json")
    write_text(json_path, json.dumps(captions, indent=1, ensure_ascii=False) + "\n")
    for split, members in (("train", TRAIN), ("val", VAL), ("test", TEST)):
        write_text(folder / f"{split}_attr_list.txt", "".join(line(i, hq) + end for i in members), crlf=crlf)
    combined = [i for i in range(1, 17) if i != UNLABELLED]
    write_text(folder / "combined_annotation.txt",
               "image_name Bangs Eyeglasses No_Beard Smiling Young" + end
               + "".join(" ".join([name(i, hq), *map(str, levels(i))]) + end for i in combined), crlf=crlf)
    if variant in ("own", "hq"):
        images = folder / ("image" if hq else "img_align_celeba")
        for i in IMAGES:
            save_image(fake_face(1000 + i, (89, 109)), images / name(i, hq))
