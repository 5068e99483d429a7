"""A fake IMDB-WIKI: ``imdb.mat`` / ``wiki.mat`` structs written with ``scipy.io.savemat``, and crop images.

The structs have the real field order and nested shapes, so ``loadmat`` gives what it gives on the
real files (FORMATS.md section 8): 1xN double rows for ``dob``, ``photo_taken``, ``gender``,
``face_score``, ``second_face_score``; 1xN cells of 1-element string arrays for ``full_path`` and
``name`` (some names empty); a 1xN cell of 1x4 doubles for ``face_location``; imdb also has
``celeb_names`` and ``celeb_id``.

17 imdb rows and 7 wiki rows: 11 written (4 train, 5 val, 2 test); filtered 3 ``no face`` (-inf
and NaN face_score), 2 ``several faces``, 3 ``implausible age`` (130 years, dob below 367, born after
the photo); rejected 1 ``image missing``, 1 ``unknown label`` (gender 0.5), 3 ``malformed line``
(an empty full_path cell, a NaN dob, a full_path written twice). Written rows cover the mid-year rule
(born in July: one year less), ages 0 and 100, a NaN gender and a fractional dob.

Variants: ``crop`` (``imdb_crop/imdb.mat``, the default), ``beside`` (``imdb.mat`` next to
``imdb_crop/``, compressed), ``full`` (``imdb/imdb.mat`` with whole photos: one row's face_location is
not a box, so it is rejected there), ``nested`` (crop layout inside ``IMDB-WIKI données/``).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io

from converters.fakes import fake_face, save_image

NAN, INF = float("nan"), float("inf")
BAD_BOX_ROW = "14/nm0000014_rm2219180800_1950-6-30_1990.jpg"  # written, except in the full-image variant
MISSING_IMAGE = "05/nm0000005_rm1234567890_1970-2-2_1999.jpg"
EMPTY_PATH = ""


def datenum(year: int, month: int, day: int, fraction: float = 0.0) -> float:
    """MATLAB's datenum of a date: days since the year 0 (Python ordinal + 366)."""
    return datetime.date(year, month, day).toordinal() + 366 + fraction


# (full_path, dob, photo_taken, gender, face_score, second_face_score, name)
IMDB = [
    ("01/nm0000001_rm124825600_1899-5-10_1968.jpg", datenum(1899, 5, 10), 1968, 1.0, 1.4597, NAN, "Fred Astaire"),
    ("01/nm0000001_rm3343756032_1899-5-10_1970.jpg", datenum(1899, 5, 10, 0.75), 1970, 1.0, 2.5431, NAN, "Fred Astaire"),
    ("08/nm0000008_rm946909184_1924-9-16_2004.jpg", datenum(1924, 9, 16), 2004, 0.0, 3.4558, NAN, "Lauren Bacall"),
    ("32/nm0000032_rm1346607872_1934-7-1_1990.jpg", datenum(1934, 7, 1), 1990, NAN, 1.8725, NAN, "Pat Doe"),
    (BAD_BOX_ROW, datenum(1950, 6, 30), 1990, 1.0, 2.0132, NAN, ""),
    ("02/nm0000002_rm221957120_1960-1-1_1990.jpg", datenum(1960, 1, 1), 1990, 0.0, -INF, NAN, "Ann Roe"),
    ("03/nm0000003_rm1413945600_1961-3-3_1991.jpg", datenum(1961, 3, 3), 1991, 1.0, NAN, NAN, "Bo Poe"),
    ("04/nm0000004_rm2551250688_1962-4-4_1992.jpg", datenum(1962, 4, 4), 1992, 1.0, 3.1, 1.2, "Cy Loe"),
    ("09/nm0000009_rm1000000009_1850-1-1_1980.jpg", datenum(1850, 1, 1), 1980, 1.0, 2.2, NAN, "Old Timer"),
    ("10/nm0000010_rm1000000010_0-0-0_1990.jpg", 100.0, 1990, 0.0, 2.2, NAN, "No Date"),
    ("11/nm0000011_rm1000000011_1995-1-1_1990.jpg", datenum(1995, 1, 1), 1990, 0.0, 2.2, NAN, "Not Yet Born"),
    (MISSING_IMAGE, datenum(1970, 2, 2), 1999, 1.0, 1.9, NAN, "Gone Photo"),
    ("12/nm0000012_rm1000000012_1971-3-3_2001.jpg", datenum(1971, 3, 3), 2001, 0.5, 1.9, NAN, "Odd Gender"),
    (EMPTY_PATH, datenum(1972, 4, 4), 2002, 1.0, 1.9, NAN, "Lost Path"),
    ("13/nm0000013_rm1000000013_nan_2003.jpg", NAN, 2003, 1.0, 1.9, NAN, "No Dob"),
    ("06/nm0000006_rm1000000006_2000-1-15_2000.jpg", datenum(2000, 1, 15), 2000, 0.0, 4.0, NAN, "Baby"),
    ("20/nm0000020_rm1000000020_1900-3-1_2000.jpg", datenum(1900, 3, 1), 2000, 1.0, 2.7, NAN, "Centenarian"),
]
WIKI = [
    ("17/10000217_1981-05-05_2009.jpg", datenum(1981, 5, 5), 2009, 1.0, 4.3009, NAN, "Sami Jauhojärvi"),
    ("68/10000868_1925-04-04_1964.jpg", datenum(1925, 4, 4), 1964, 1.0, 2.6456, NAN, ""),
    ("42/10005642_1948-07-03_2008.jpg", datenum(1948, 7, 3), 2008, 0.0, 1.1, NAN, "Jo Smith"),
    ("76/10006076_1930-05-23_1961.jpg", datenum(1930, 5, 23), 1961, NAN, 3.0, NAN, ""),
    ("89/10003689_1971-01-01_2000.jpg", datenum(1971, 1, 1), 2000, 0.0, 2.0, 2.5, "Two Faces"),
    ("27/10006727_1966-06-06_1996.jpg", datenum(1966, 6, 6), 1996, 1.0, -INF, NAN, "Nobody Here"),
    ("17/10000217_1981-05-05_2009.jpg", datenum(1981, 5, 5), 2009, 1.0, 4.3009, NAN, "Sami Jauhojärvi"),  # repeat
]
FULL_SIZE, CROP_SIZE = (120, 100), (64, 64)
LOCATION = [20.5, 15.25, 90.0, 85.0]


def cells(values: Sequence[object]) -> np.ndarray:
    """A 1xN object array (a MATLAB cell row) of the given elements."""
    out = np.empty((1, len(values)), dtype=object)
    for i, value in enumerate(values):
        out[0, i] = value
    return out


def struct(rows: list[tuple], subset: str) -> dict[str, np.ndarray]:
    """The subset's struct as ``savemat`` takes it: a dict of fields in the real order."""
    def row(i: int) -> np.ndarray:
        return np.array([[r[i] for r in rows]], dtype=np.float64)

    locations = [np.array([[40.0, 30.0, 10.0, 20.0]] if r[0] == BAD_BOX_ROW else [LOCATION]) for r in rows]
    fields = {
        "dob": row(1),
        "photo_taken": row(2),
        "full_path": cells([np.array([r[0]]) for r in rows]),
        "gender": row(3),
        "name": cells([np.array([r[6]]) if r[6] else np.array([], dtype="<U1") for r in rows]),
        "face_location": cells(locations),
        "face_score": row(4),
        "second_face_score": row(5),
    }
    if subset == "imdb":
        names = sorted({r[6] for r in rows if r[6]})
        fields["celeb_names"] = cells([np.array([n]) for n in names])
        fields["celeb_id"] = np.array([[names.index(r[6]) + 1 if r[6] else 0 for r in rows]], dtype=np.float64)
    return fields


def make(folder: Path, variant: str = "crop") -> None:
    folder = Path(folder)
    if variant == "nested":
        folder, variant = folder / "IMDB-WIKI données", "crop"
    for subset, rows, offset in (("imdb", IMDB, 3000), ("wiki", WIKI, 3100)):
        images = folder / (subset if variant == "full" else f"{subset}_crop")
        mat = {"crop": images, "full": images, "beside": folder}[variant] / f"{subset}.mat"
        mat.parent.mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(mat, {subset: struct(rows, subset)}, do_compression=variant == "beside")
        for i, row in enumerate(rows):
            if row[0] and row[0] != MISSING_IMAGE:
                size = FULL_SIZE if variant == "full" else CROP_SIZE
                save_image(fake_face(offset + i, size), images / row[0])
