"""A fake CelebAText-HQ: ``captions/<idx>.txt``, ``data_flist/{train,test}.flist``, ``CelebAimg/``.

13 caption files: 9 written (6 train, 3 test); index 24 has an empty file (``no caption``); index 25
is in neither flist (``no split``); index 5 has no image here nor in the fake MM-CelebA-HQ (2 rejects).
Indexes 0..3 have their images only in ``mm_celeba_hq/`` (the test adds that folder) and index 1 in
both places (this folder's copy wins); 20..23 and 26 are in ``CelebAimg/``. Index 26's file holds
GBK-encoded full-width punctuation (invalid UTF-8 byte pairs) and one stray Latin-1 byte.
Variants: ``default`` (images split between ``CelebAimg/`` and MM-CelebA-HQ), ``own`` (every image in
``CelebAimg/``, CRLF files, inside an extra ``CelebAText-HQ données/`` folder). Both carry the
CelebA-HQ mapping file of ``fakes/mm_celeba_hq.py`` (20..26 map to CelebA files the fake CelebA
does not have).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from converters.fakes import fake_face, save_image, write_text
from converters.fakes.mm_celeba_hq import MAPPED, MAPPING_FILE, mapping_text

TRAIN = (0, 1, 2, 20, 21, 26, 5, 24)
TEST = (3, 22, 23)
NO_SPLIT, EMPTY, MISSING_IMAGE, MISENCODED = 25, 24, 5, 26
SHARED = (0, 1, 2, 3)  # images that live in mm_celeba_hq/ in the default variant
OWN = (1, 20, 21, 22, 23, 26)
INDEXES = (*SHARED, 5, 20, 21, 22, 23, 24, 25, 26)

HAIR = ("long black", "short brown", "curly blond", "straight gray")
BROWS = ("thin arched", "bushy", "straight")
MOUTH = ("her mouth is slightly open", "she is smiling broadly", "her lips are closed")


def captions(idx: int) -> list[str]:
    rng = np.random.default_rng(700 + idx)
    return [f"The person has {HAIR[rng.integers(len(HAIR))]} hair and {BROWS[rng.integers(len(BROWS))]} eyebrows, "
            f"{MOUTH[rng.integers(len(MOUTH))]}." for _ in range(10)]


def misencoded_bytes() -> bytes:
    """A caption file with GBK full-width comma / full stop and a stray Latin-1 byte, as some files have."""
    lines = [
        b"The woman has long black hair" + "，".encode("gbk") + b"she is smiling" + "。".encode("gbk"),
        b"Her skin is caf\xe9 au lait.",
        *(c.encode() for c in captions(MISENCODED)[2:]),
    ]
    return b"\n".join(lines) + b"\n"


def make(folder: Path, variant: str = "default") -> None:
    folder = Path(folder)
    own_all = variant == "own"
    if own_all:
        folder = folder / "CelebAText-HQ données"
    for idx in INDEXES:
        path = folder / "captions" / f"{idx}.txt"
        if idx == MISENCODED:
            data = misencoded_bytes()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data.replace(b"\n", b"\r\n") if own_all else data)
        else:
            write_text(path, "\n \n" if idx == EMPTY else "\n".join(captions(idx)) + "\n", crlf=own_all)
        if idx in OWN or (own_all and idx in SHARED):
            save_image(fake_face(6000 + idx, (64, 64)), folder / "CelebAimg" / f"{idx}.jpg")
    write_text(folder / MAPPING_FILE, mapping_text(MAPPED), crlf=own_all)
    write_text(folder / "data_flist" / "train.flist", "".join(f"../data/CelebAimg/{i}.jpg\n" for i in TRAIN), crlf=own_all)
    write_text(folder / "data_flist" / "test.flist",
               "".join(f"/home/user/CelebAMask-HQ/CelebA-HQ-img/{i}.jpg\n" for i in TEST), crlf=own_all)
