"""A fake RAF-DB: ``EmoLabel/list_patition_label.txt`` (sic) and ``Image/aligned/<stem>_aligned.jpg``.

Basic list: 5 train and 3 test lines written; one compound-only label 9 (filtered ``compound
expression``), one label 0 (unknown label), one ``val_`` name (no split), one aligned image missing,
one line without a label (malformed), one repeated name (malformed). Variants: ``default`` (the
misspelt file name, files at the top), ``basic`` (the full download: ``basic/`` with the correct
spelling ``list_partition_label.txt``, CRLF and a spaced non-ASCII name, beside ``compound/`` with its
own list, which must not be read), ``compound`` (only the compound subset's list and images: every
line is filtered).
"""

from __future__ import annotations

from pathlib import Path

from converters.fakes import fake_face, save_image, write_text
from converters.rafdb import aligned_name

BASIC = [
    ("train_00001.jpg", "5"), ("train_00002.jpg", "5"), ("train_00003.jpg", "4"), ("train_00004.jpg", "1"),
    ("train_00005.jpg", "7"), ("train_00006.jpg", "9"), ("train_00007.jpg", "0"), ("train_00008.jpg", "3"),
    ("train_00009.jpg", ""), ("val_00001.jpg", "2"),
    ("test_0001.jpg", "2"), ("test_0002.jpg", "6"), ("test_0003.jpg", "3"), ("train_00001.jpg", "5"),
]
MISSING = "train_00008.jpg"
SPACED = ("train_00005.jpg", "train_00005 é.jpg")  # the name used in the ``basic`` variant
# Compound list: 4-digit train names, labels up to 11 (FORMATS.md's verbatim lines and a few more).
COMPOUND = [("train_0001.jpg", "6"), ("train_0002.jpg", "6"), ("train_0003.jpg", "10"), ("train_0056.jpg", "11"),
            ("test_0001.jpg", "1"), ("test_0002.jpg", "4")]


def _write(folder: Path, table: list[tuple[str, str]], file: str, seed: int, crlf: bool = False) -> None:
    write_text(folder / "EmoLabel" / file, "".join(f"{n} {v}".rstrip() + "\n" for n, v in table), crlf=crlf)
    for i, (name, _) in enumerate(table):
        if name != MISSING:
            save_image(fake_face(seed + i, (40, 40)), folder / "Image" / "aligned" / aligned_name(name))


def make(folder: Path, variant: str = "default") -> None:
    folder = Path(folder)
    if variant == "compound":
        _write(folder, COMPOUND, "list_patition_label.txt", 5100)
    elif variant == "basic":
        spaced = [(SPACED[1] if n == SPACED[0] else n, v) for n, v in BASIC]
        _write(folder / "basic", spaced, "list_partition_label.txt", 5000, crlf=True)
        _write(folder / "compound", COMPOUND, "list_patition_label.txt", 5100)
    else:
        _write(folder, BASIC, "list_patition_label.txt", 5000)
