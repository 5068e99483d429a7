"""A fake MM-CelebA-HQ: ``text/celeba-caption/<idx>.txt`` (10 lines), filename pickles, CelebA-HQ images.

12 caption files (indexes 0..11): 9 written (6 train, 3 test); index 11 has an empty caption file
(``no caption``); index 7 is in neither pickle (``no split``) and index 5's image is missing (2 rejects).
Variants: ``default`` (``image/<idx>.jpg``, Python 3 pickles of str), ``images`` (``image/images/``
with zero-padded names ``000004.jpg``, CRLF captions, Python 2 pickles whose entries are byte
strings), ``hq`` (CelebAMask-HQ's ``CelebA-HQ-img/`` inside an extra ``multi-modal celeba/`` folder,
protocol-3 pickles of bytes).
Every variant has CelebAMask-HQ's ``CelebA-HQ-to-CelebA-mapping.txt`` (header, multi-space columns,
0-based ``orig_idx``): CelebA-HQ image ``i`` is the fake CelebA's ``{12 - i:06d}.jpg``, so test images 8,
9, 10 have originals in CelebA's train split and train images 1, 2 originals in its test split;
images 12..26 map to CelebA files the fake CelebA does not have.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from converters.fakes import fake_face, save_image, write_text

N = 12
TRAIN = (0, 1, 2, 3, 4, 5, 6, 11)
TEST = (8, 9, 10)
NO_SPLIT, MISSING_IMAGE, EMPTY = 7, 5, 11

SUBJECT = {True: ("He", "The man", "This man"), False: ("She", "The woman", "This woman")}
IS = ("young", "attractive", "smiling", "chubby")
HAS = ("wavy hair", "arched eyebrows", "high cheekbones", "mouth slightly open", "big lips", "bags under eyes")
WEARS = ("heavy makeup", "lipstick", "earrings", "a necklace", "eyeglasses")


def captions(idx: int) -> list[str]:
    """Ten seeded template descriptions of one image, in the style of the released captions."""
    rng = np.random.default_rng(100 + idx)
    male = bool(rng.integers(2))
    out = []
    for _ in range(10):
        who = SUBJECT[male][rng.integers(3)]
        has = " and ".join(HAS[i] for i in sorted(rng.choice(len(HAS), 2, replace=False)))
        out.append(f"{who} wears {WEARS[rng.integers(len(WEARS))]}. {who} has {has}. "
                   f"{who} is {IS[rng.integers(len(IS))]}, and {IS[rng.integers(len(IS))]}.")
    return out


MAPPING_FILE = "CelebA-HQ-to-CelebA-mapping.txt"
MAPPED = tuple(range(27))  # the rows of the fake mapping file (this dataset's and CelebAText-HQ's indexes)


def original_index(idx: int) -> int:
    """The fake mapping: CelebA-HQ image `idx` -> its 0-based CelebA index (``000012.jpg`` is 11)."""
    return 11 - idx if idx < N else 100 + idx


def mapping_text(indexes: tuple[int, ...]) -> str:
    """``CelebA-HQ-to-CelebA-mapping.txt`` for these CelebA-HQ indexes, padded like the real file."""
    rows = [f"{'idx':<12}{'orig_idx':<12}orig_file\n"]
    rows += [f"{i:<12}{original_index(i):<12}{original_index(i) + 1:06d}.jpg\n" for i in indexes]
    return "".join(rows)


def py2_pickle(names: list[str]) -> bytes:
    """A protocol-2 pickle of a list of byte strings, as Python 2 writes ``pickle.dump([...], f, 2)``."""
    body = b"".join(b"U" + bytes([len(n)]) + n.encode("ascii") for n in names)
    return b"\x80\x02]q\x00(" + body + b"e."


def write_pickle(path: Path, names: list[str], variant: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if variant == "images":
        data = py2_pickle(names)
    elif variant == "hq":
        data = pickle.dumps([n.encode() for n in names], protocol=3)
    else:
        data = pickle.dumps(names, protocol=2)
    path.write_bytes(data)


def make(folder: Path, variant: str = "default") -> None:
    folder = Path(folder)
    if variant == "hq":
        folder = folder / "multi-modal celeba"
    images = {"default": folder / "image", "images": folder / "image" / "images", "hq": folder / "CelebA-HQ-img"}[variant]
    for idx in range(N):
        text = "\n\n" if idx == EMPTY else "\n".join(captions(idx)) + "\n"
        write_text(folder / "text" / "celeba-caption" / f"{idx}.txt", text, crlf=variant == "images")
        if idx != MISSING_IMAGE:
            name = f"{idx:06d}.jpg" if variant == "images" else f"{idx}.jpg"
            save_image(fake_face(5000 + idx, (64, 64)), images / name)
    write_text(folder / MAPPING_FILE, mapping_text(MAPPED))
    write_pickle(folder / "train" / "filenames.pickle", [str(i) for i in TRAIN], variant)
    write_pickle(folder / "test" / "filenames.pickle", [str(i) for i in TEST], variant)
