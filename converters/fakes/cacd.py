"""A fake CACD: ``celebrity2000_meta.mat`` (MATLAB v5 structs, as scipy.io.loadmat returns them) and ``CACD2000/``.

``celebrityImageData`` holds 11 rows: 8 written (5 train, 2 val, 1 test by the stable hash of the
identity; names with an apostrophe, dots and non-ASCII letters), an empty name cell and a repeated
file name (malformed), a photo that is missing. ``feature`` is empty (0x0) as in the real _meta
file; ``celebrityData`` is written too (not read). Variants: ``default`` (fields in the real order
``age, identity, year, feature, rank, lfw, birth, name``) and ``reordered`` (another field order,
inside an extra ``CACD/`` folder), which must read the same.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import scipy.io

from converters.cacd import FIELDS
from converters.fakes import fake_face, save_image

# (file name, age, identity, photo year, birth year, rank, lfw); identity 24 hashes to val, 27 to test
ROWS: list[tuple[str, int, int, int, int, int, int]] = [
    ("53_Robin_Williams_0001.jpg", 53, 1, 2004, 1951, 1, 1),
    ("53_Robin_Williams_0002.jpg", 53, 1, 2004, 1951, 1, 1),
    ("14_Aaron_Johnson_0001.jpg", 14, 2, 2004, 1990, 3, 0),
    ("23_Katie_Findlay_0013.jpg", 23, 2000, 2013, 1990, 50, 0),
    ("31_Dana_O'Neil_0001.jpg", 31, 24, 2010, 1979, 7, 0),
    ("32_Dana_O'Neil_0002.jpg", 32, 24, 2011, 1979, 7, 0),
    ("40_J._R._Example_0002.jpg", 40, 27, 2012, 1972, 12, 1),
    ("28_Zoë_Exämple_0001.jpg", 28, 3, 2009, 1981, 20, 0),
    ("", 30, 3, 2011, 1981, 20, 0),  # empty name cell: malformed
    ("45_Missing_Person_0001.jpg", 45, 4, 2008, 1963, 9, 0),  # photo missing
    ("53_Robin_Williams_0001.jpg", 53, 1, 2004, 1951, 1, 1),  # repeated file name: malformed
]
MISSING = "45_Missing_Person_0001.jpg"
REORDERED = ("name", "feature", "birth", "identity", "lfw", "age", "rank", "year")
HEADER = b"MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018"
HEADER_SIZE = 116  # the text part of a v5 header
DTYPES = {"age": np.uint8, "identity": np.uint16, "year": np.uint16, "rank": np.uint8, "lfw": np.uint8, "birth": np.uint16}


def _cells(strings: list[str]) -> np.ndarray:
    cells = np.empty((len(strings), 1), dtype=object)
    for i, text in enumerate(strings):
        cells[i, 0] = np.array([text]) if text else np.zeros((0,), dtype="<U1")
    return cells


def _struct(columns: dict[str, np.ndarray], order: tuple[str, ...]) -> np.ndarray:
    struct = np.empty((1, 1), dtype=[(name, "O") for name in order])
    for name in order:
        struct[0, 0][name] = columns[name]
    return struct


Row = tuple[str, int, int, int, int, int, int]


def meta_bytes(order: tuple[str, ...] = FIELDS, rows: list[Row] = ROWS) -> bytes:
    """The _meta file of `rows` (``ROWS``' layout) with celebrityImageData's fields in `order`."""
    columns = {"name": _cells([r[0] for r in rows]), "feature": np.zeros((0, 0), dtype=np.uint8)}
    for i, field in enumerate(("age", "identity", "year", "birth", "rank", "lfw"), start=1):
        columns[field] = np.array([[r[i]] for r in rows], dtype=DTYPES[field])
    people = sorted({(r[2], r[0][3:-9].replace("_", " "), r[4], r[5], r[6]) for r in rows if r[0]})
    celebrities = {
        "name": _cells([p[1] for p in people]), "identity": np.array([[p[0]] for p in people], dtype=np.uint16),
        "birth": np.array([[p[2]] for p in people], dtype=np.uint16), "rank": np.array([[p[3]] for p in people], dtype=np.uint8),
        "lfw": np.array([[p[4]] for p in people], dtype=np.uint8),
    }
    out = io.BytesIO()
    scipy.io.savemat(out, {"celebrityData": _struct(celebrities, ("name", "identity", "birth", "rank", "lfw")),
                           "celebrityImageData": _struct(columns, order)})
    data = out.getvalue()
    header = HEADER.ljust(HEADER_SIZE, b" ")  # scipy stamps the time of writing; keep the bytes stable
    return header + data[HEADER_SIZE:]


def make(folder: Path, variant: str = "default") -> None:
    folder = Path(folder)
    order = FIELDS
    if variant == "reordered":
        folder, order = folder / "CACD", REORDERED
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "celebrity2000_meta.mat").write_bytes(meta_bytes(order))
    for i, (name, *_) in enumerate(ROWS):
        if name and name != MISSING:
            save_image(fake_face(7000 + i, (50, 50)), folder / "CACD2000" / name)
