"""A fake FFHQ-Text: CUB-style ``Text/00_Female/<stem>.txt`` captions, PNG images, filename pickles.

11 caption files: 8 written (4 train, 2 val, 2 test by the hash of the stem); one with only blank
lines (``no caption``); one whose image is missing and one in Latin-1 instead of UTF-8 (2 rejects).
One written file has blank lines and trailing spaces between its 9 descriptions.
Variants: ``default`` (``Text/00_Female/``, ``image/``), ``flat`` (``text/`` without the class folder,
``images/``, CRLF line ends and a BOM), ``nested`` (inside ``FFHQ-Text (données)/``, images in
``Image/00_Female/``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from converters.fakes import fake_face, save_image, write_text

WRITTEN = ("00003", "00006", "00012", "00015", "00054", "00261", "00057", "00120")
EMPTY, MISSING_IMAGE, NOT_UTF8 = "00021", "00024", "00027"
GAPPY = "00015"  # blank lines and trailing spaces between its descriptions
STEMS = (*WRITTEN, EMPTY, MISSING_IMAGE, NOT_UTF8)

HAIR = ("long wavy blond", "short straight black", "shoulder-length brown", "curly red", "crème-coloured bobbed")
FACE = ("an oval face", "a round face", "high cheekbones", "a pointed chin")
MOOD = ("is smiling with her mouth slightly open", "looks calm", "has a gentle smile", "is laughing")
AGE = ("young woman", "girl", "middle-aged woman", "woman")


def captions(stem: str) -> list[str]:
    """Nine seeded descriptions of one image."""
    rng = np.random.default_rng(int(stem))
    return [
        f"The {AGE[rng.integers(len(AGE))]} has {HAIR[rng.integers(len(HAIR))]} hair and {FACE[rng.integers(len(FACE))]}, "
        f"and she {MOOD[rng.integers(len(MOOD))]}."
        for _ in range(9)
    ]


def make(folder: Path, variant: str = "default") -> None:
    folder = Path(folder)
    if variant == "nested":
        folder = folder / "FFHQ-Text (données)"
    flat = variant == "flat"
    text_dir = folder / "text" if flat else folder / "Text" / "00_Female"
    image_dir = {"default": folder / "image", "flat": folder / "images", "nested": folder / "Image" / "00_Female"}[variant]
    for stem in STEMS:
        lines = captions(stem)
        path = text_dir / f"{stem}.txt"
        if stem == EMPTY:
            write_text(path, "\n  \n\n", crlf=flat)
            continue
        if stem == NOT_UTF8:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(("\n".join(lines).replace("she", "crème") + "\n").encode("latin-1"))
        else:
            body = "\n".join(f"{line}  \n" if stem == GAPPY and i % 3 == 1 else line for i, line in enumerate(lines)) + "\n"
            write_text(path, ("\ufeff" if flat else "") + body, crlf=flat)
        if stem != MISSING_IMAGE:
            save_image(fake_face(4000 + int(stem), (64, 64)), image_dir / f"{stem}.png")
    train = [f"00_Female/{s}" for s in STEMS[:-3]]
    for split, names in (("train", train[:6]), ("test", train[6:])):
        (folder / split).mkdir(parents=True, exist_ok=True)
        (folder / split / "filenames.pickle").write_bytes(pickle.dumps(names, protocol=2))
