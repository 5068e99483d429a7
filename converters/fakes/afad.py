"""A fake AFAD-Full: the ``<age>/<111|112>/<id>-<n>.jpg`` tree and ``AFAD-Full.txt`` (``./`` prefixes).

The list has 13 lines: 9 written (6 train, 2 val, 1 test by the stable hash of the user id; user
278878 has a male and a female face, FORMATS.md's example), one path listed twice (malformed
line), one line without a file name (malformed file name), one gender folder 113 (unknown label), one photo that is missing. The
tree also holds ``Thumbs.db`` files and one photo the list does not name (both ignored).
Variants: ``default`` (the tarball's ``AFAD-Full/`` top folder, LF) and ``flat`` (files directly in
the dataset folder, CRLF, lines without ``./``, one with a trailing space, one file name with a space
and a non-ASCII letter).
"""

from __future__ import annotations

from pathlib import Path

from converters.fakes import fake_face, save_image, write_text

LIST = [
    "15/111/109008-0.jpg", "15/111/114557-0.jpg", "15/111/56703-10.jpg", "15/112/106534-0.jpg",
    "22/111/278878-0.jpg", "23/112/278878-1.jpg",
    "40/112/100002-0.jpg", "41/112/100002-1.jpg",  # val
    "72/111/100017-3.jpg",  # test
    "15/111/109008-0.jpg",  # listed twice: malformed
    "16/111",  # no file name: malformed file name
    "30/113/200001-0.jpg",  # gender folder 113: unknown label
    "31/112/200002-0.jpg",  # photo missing
]
MISSING = "31/112/200002-0.jpg"
SPACED = ("15/112/106534-0.jpg", "15/112/106534-0 é.jpg")  # renamed in the ``flat`` variant
UNLISTED = "33/111/300003-0.jpg"  # on disk, not in the list: ignored


def make(folder: Path, variant: str = "default") -> None:
    folder = Path(folder)
    flat = variant == "flat"
    if not flat:
        folder = folder / "AFAD-Full"
    listed = [SPACED[1] if flat and p == SPACED[0] else p for p in LIST]
    lines = [(p if flat else f"./{p}") for p in listed]
    if flat:
        lines[1] += " "
    write_text(folder / "AFAD-Full.txt", "\n".join(lines) + "\n", crlf=flat)
    for i, path in enumerate([*listed, UNLISTED]):
        if path == MISSING or path.count("/") != 2:
            continue
        save_image(fake_face(8000 + i, (40, 40)), folder / path)
        (folder / path).parent.joinpath("Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0 stray thumbnail cache")
    write_text(folder / "README.md", "# AFAD-Full\n")
