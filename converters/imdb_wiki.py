"""IMDB-WIKI: age and gender of celebrity photos -> ``imdb age: 69; gender: male;`` / ``wiki age: 28;``.

Layouts read (FORMATS.md section 8), each subset (``imdb``, ``wiki``) on its own, at least one present:

* crop release: ``imdb_crop/imdb.mat`` with the images ``imdb_crop/01/nm0000001_rm124825600_1899-5-10_1968.jpg``
  (``wiki_crop/wiki.mat``, ``wiki_crop/17/10000217_1981-05-05_2009.jpg``);
* the ``.mat`` beside the crop folder: ``imdb.mat`` next to ``imdb_crop/``;
* full-image release: ``imdb/imdb.mat`` with ``imdb/01/...jpg``; these are whole photos, so the record
  carries the face box from ``face_location`` (``[x1, y1, x2, y2]``); a crop release needs none.

Each ``.mat`` holds one 1x1 struct named after its subset, read with ``scipy.io.loadmat`` by field name
(``m['imdb'][0, 0]['dob']``): 1xN columns ``dob`` (MATLAB datenum), ``photo_taken`` (year), ``gender``
(1 male, 0 female, NaN unknown), ``face_score``, ``second_face_score`` and 1xN cells ``full_path``
(1-element string arrays), ``name`` (may be empty; names are not used), ``face_location``. One row::

    dob=693726.0  photo_taken=1968  full_path=['01/nm0000001_rm124825600_1899-5-10_1968.jpg']
    gender=1.0  face_score=1.4597  second_face_score=nan

Rules (LABELS.md): birth = ``date.fromordinal(int(dob) - 366)`` (a dob below 367 has no such date:
``implausible age``), age = ``photo_taken - birth.year``, minus 1 when born in July or later. Filtered:
face_score -inf or NaN ``no face``; second_face_score not NaN ``several faces``; age outside 0..100
``implausible age``. A NaN gender drops the gender key only. Rejected: an empty full_path cell, a
full_path written twice, a dob or photo_taken that is not a number, a gender other than 0/1/NaN, a
missing image, a bad face box (full-image release). The source id is the image path relative to the
dataset folder (``imdb_crop/01/nm0000001_...jpg``), unique across both subsets; the split is a stable
hash of the person id, the first ``_``-separated field of the file name (``nm0000001``, ``10000217``).

The numeric work (dates, ages, filters) runs vectorised over whole columns; the per-row loop only
builds records, so a 500k-row ``.mat`` converts in seconds (bench/bench_converters_caption.py).

Source and terms (`SOURCE`): taken from the IMDB-WIKI page (academic research purposes only), as
stated on https://data.vision.ee.ethz.ch/cvl/rrothe/imdb-wiki/; written from what we know of the
dataset's published terms, not verified offline and not re-checked online (no network when it was
written): check them there before using the data.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import scipy.io

from converters.base import Converter, ConverterError, DatasetRoot, Outcome
from schemas import Box, FaceRecord, Reasons, Text, format_attributes, stable_split
from schemas.source import Source

SUBSETS = ("imdb", "wiki")
FIELDS = ("dob", "photo_taken", "full_path", "gender", "face_score", "second_face_score")
GENDERS = {1.0: "male", 0.0: "female"}
MIN_AGE, MAX_AGE = 0, 100
MATLAB_YEAR_ZERO = 366  # MATLAB datenums count days from year 0; Python ordinals from 0001-01-01


def layouts(subset: str) -> tuple[tuple[str, str], ...]:
    """``(.mat file, image folder)`` candidates for a subset, in the order they are tried."""
    return (
        (f"{subset}_crop/{subset}.mat", f"{subset}_crop"),
        (f"{subset}.mat", f"{subset}_crop"),
        (f"{subset}/{subset}.mat", subset),
        (f"{subset}.mat", subset),
    )


# what a row ends as, decided for whole columns at once; checked in this order
OK, NO_FACE, SEVERAL_FACES, BAD_NUMBER, IMPLAUSIBLE_AGE, BAD_GENDER = range(6)


def birth_year_month(dob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Birth year and month of MATLAB datenums, and where the date exists (``int(dob) - 366 >= 1``).

    The same as ``date.fromordinal(int(dob) - 366)`` for every valid entry, computed with numpy.
    """
    dob = np.asarray(dob, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ordinal = np.floor(np.where(np.isfinite(dob), dob, 0.0)) - MATLAB_YEAR_ZERO
    valid = np.isfinite(dob) & (ordinal >= 1) & (ordinal <= datetime.date.max.toordinal())
    epoch = datetime.date(1970, 1, 1).toordinal()
    days = np.where(valid, ordinal, epoch).astype(np.int64) - epoch
    when = days.astype("datetime64[D]")
    year = when.astype("datetime64[Y]").astype(np.int64) + 1970
    month = when.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return year, month, valid


def row_status(columns: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: its status code (OK, NO_FACE, ...) and its age (meaningful where OK)."""
    face = columns["face_score"]
    second = columns["second_face_score"]
    dob, taken, gender = columns["dob"], columns["photo_taken"], columns["gender"]
    year, month, date_ok = birth_year_month(dob)
    with np.errstate(invalid="ignore"):
        numbers_ok = np.isfinite(dob) & (np.abs(taken) < 1e5)  # a year; NaN and inf fail too
    age = np.where(numbers_ok, taken, 0).astype(np.int64) - year - (month >= 7)
    age = np.where(date_ok & numbers_ok, age, -1)
    status = np.full(len(face), OK, dtype=np.int8)
    # assigned from the last check to the first, so the first failing check wins
    status[~(np.isnan(gender) | (gender == 0) | (gender == 1))] = BAD_GENDER
    status[(age < MIN_AGE) | (age > MAX_AGE)] = IMPLAUSIBLE_AGE
    status[~numbers_ok] = BAD_NUMBER
    status[~np.isnan(second)] = SEVERAL_FACES
    status[np.isnan(face) | (face == -np.inf)] = NO_FACE
    return status, age


def cell_text(cell: Any) -> str | None:
    """The string in one cell of a loaded cell array (``array(['01/x.jpg'])``), or None when it has none."""
    if isinstance(cell, str):
        return cell or None
    if isinstance(cell, np.ndarray) and cell.dtype.kind == "U" and cell.size == 1:
        return str(cell.reshape(-1)[0]) or None
    return None


def cell_texts(cells: np.ndarray) -> list[str | None]:
    """The strings of a loaded cell row, None for a cell without one; one numpy call in the usual case."""
    items = cells.reshape(-1).tolist()
    if items and all(type(c) is np.ndarray and c.shape == (1,) and c.dtype.kind == "U" for c in items):
        return [p or None for p in np.concatenate(items).tolist()]
    return [cell_text(c) for c in items]


def face_box(cell: Any) -> Box | None:
    """The ``[x1, y1, x2, y2]`` of a face_location cell as a Box, or None when it is not one."""
    try:
        values = np.asarray(cell, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    if values.size != 4 or not np.isfinite(values).all():
        return None
    box = Box(*(round(float(v), 2) for v in values))
    return box if box.width > 0 and box.height > 0 else None


SOURCE = Source(
    name="IMDB-WIKI",
    homepage="https://data.vision.ee.ethz.ch/cvl/rrothe/imdb-wiki/",
    terms="for academic research purposes only (non-commercial); images crawled from IMDb and Wikipedia",
    terms_url="https://data.vision.ee.ethz.ch/cvl/rrothe/imdb-wiki/",
    terms_class="research-only",
    citation=r"""@article{rothe2018dex,
  title = {Deep expectation of real and apparent age from a single image without facial landmarks},
  author = {Rothe, Rasmus and Timofte, Radu and Van Gool, Luc},
  journal = {International Journal of Computer Vision},
  volume = {126}, number = {2-4}, pages = {144--157},
  year = {2018}
}""",
)


class ImdbWiki(Converter):
    source = SOURCE
    key = "imdb_wiki"
    text_kind = "attributes"
    prefix = None  # the subset a row comes from: "imdb" or "wiki"
    splits = {"train": "stable hash of the person id: 90%", "val": "5%", "test": "5%"}
    native_files = ("imdb_crop/imdb.mat", "wiki_crop/wiki.mat", "imdb_crop/", "wiki_crop/")
    fake = "converters.fakes.imdb_wiki"
    prefixes = SUBSETS
    label_values = {"gender": tuple(GENDERS.values())}
    integer_keys = frozenset({"age"})

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(*(mat for subset in SUBSETS for mat, _ in layouts(subset)))
        for subset in SUBSETS:
            found = self.find(root, subset)
            if found is None:
                continue
            mat_rel, folder = found
            yield from self.convert_struct(root, subset, mat_rel, folder, self.load(root, subset, mat_rel))

    @staticmethod
    def find(root: DatasetRoot, subset: str) -> tuple[str, str] | None:
        """The subset's ``.mat`` and image folder in this copy, or None when the subset is absent."""
        candidates = layouts(subset)
        for mat, folder in candidates:  # a .mat whose image folder is there
            if root.exists(mat) and root.isdir(folder):
                return mat, folder
        for mat, folder in candidates:  # a .mat alone: every image will be reported missing
            if root.exists(mat):
                return mat, folder
        return None

    @staticmethod
    def load(root: DatasetRoot, subset: str, mat_rel: str) -> np.void:
        """The subset's 1x1 struct (``m['imdb'][0, 0]``) from its ``.mat``; ConverterError when unreadable."""
        where = root.source_path(mat_rel)
        try:
            with root.open(mat_rel) as f:
                mat = scipy.io.loadmat(f, variable_names=[subset])
        except Exception as err:  # scipy raises several types for a broken file
            raise ConverterError(f"{where}: not a readable MATLAB v5 file ({err}); re-download it") from err
        if subset not in mat:
            raise ConverterError(f"{where}: no variable {subset!r} (has {sorted(k for k in mat if not k.startswith('__'))})")
        struct = mat[subset]
        if struct.dtype.names is None or struct.size != 1:
            raise ConverterError(f"{where}: {subset!r} is not a 1x1 struct (shape {struct.shape})")
        return struct.reshape(-1)[0]

    def convert_struct(self, root: DatasetRoot, subset: str, mat_rel: str, folder: str, struct: np.void) -> Iterator[Outcome]:
        """Every outcome of one subset's struct, in row order."""
        where = root.source_path(mat_rel)
        names = struct.dtype.names or ()
        missing = [f for f in FIELDS if f not in names]
        if missing:
            raise ConverterError(f"{where}: struct {subset!r} lacks the field(s) {missing}; it has {list(names)}")
        paths = np.asarray(struct["full_path"]).reshape(-1)
        columns: dict[str, np.ndarray] = {}
        for name in FIELDS:
            if name == "full_path":
                continue
            try:
                column = np.asarray(struct[name], dtype=np.float64).reshape(-1)
            except (TypeError, ValueError) as err:
                raise ConverterError(f"{where}: field {name!r} is not numeric ({err})") from err
            if len(column) != len(paths):
                raise ConverterError(f"{where}: field {name!r} has {len(column)} entries, full_path has {len(paths)}")
            columns[name] = column
        full_image = not folder.endswith("_crop")
        locations = np.asarray(struct["face_location"]).reshape(-1) if full_image and "face_location" in names else None
        status, age = row_status(columns)

        on_disk = root.listing(folder)
        base_url, base_source = root.url_of(folder), root.source_path(folder)
        split_of: dict[str, str] = {}
        texts: dict[tuple[int, str | None], tuple[Text, ...]] = {}
        seen: dict[str, str] = {}
        values = {name: column.tolist() for name, column in columns.items()}
        for row, (code, years, gender, path) in enumerate(zip(status.tolist(), age.tolist(), values["gender"],
                                                               cell_texts(paths))):
            if path is None:
                sid = f"{mat_rel} row {row + 1}"
                yield self.reject(sid, where, Reasons.MALFORMED, f"{mat_rel} row {row + 1}: empty full_path cell {paths[row]!r}")
                continue
            sid = f"{folder}/{path}"
            source_path = f"{base_source}/{path}"
            repeat = self.repeated(seen, sid, f"row {row + 1}", source_path, file=mat_rel, shown=f"full_path {path!r}")
            if repeat:
                yield repeat
                continue
            if code != OK:
                yield self._not_written(code, sid, source_path, f"{mat_rel} row {row + 1}", row, values)
                continue
            box = None
            if locations is not None:
                box = face_box(locations[row])
                if box is None:
                    yield self.reject(sid, source_path, Reasons.BAD_BOX,
                                      f"{mat_rel} row {row + 1}: face_location {locations[row]!r} is not a box x1<x2, y1<y2")
                    continue
            if sid not in on_disk:
                yield self.reject(sid, source_path, Reasons.IMAGE_MISSING, f"{sid} not found ({mat_rel} row {row + 1})")
                continue
            person = path.rsplit("/", 1)[-1].split("_", 1)[0]
            split = split_of.get(person)
            if split is None:
                split = split_of[person] = stable_split(person)
            sex = GENDERS.get(gender)  # None for NaN
            labels: dict[str, int | str] = {"age": years} if sex is None else {"age": years, "gender": sex}
            text = texts.get((years, sex))
            if text is None:
                text = texts[(years, sex)] = (Text("attributes", format_attributes(subset, labels)),)
            yield FaceRecord(self.key, sid, f"{base_url}/{path}", source_path, split, labels, text, box,
                             person_id=f"{subset}:{person}")

    def _not_written(self, code: int, sid: str, source_path: str, at: str, row: int,
                     values: Mapping[str, list[float]]) -> Outcome:
        """The Filtered or Reject of a row whose status is not OK, with the values that decided it."""
        if code == NO_FACE:
            return self.filtered(sid, source_path, "no face", f"{at}: face_score {values['face_score'][row]}")
        if code == SEVERAL_FACES:
            return self.filtered(sid, source_path, "several faces", f"{at}: second_face_score {values['second_face_score'][row]}")
        dob, taken = values["dob"][row], values["photo_taken"][row]
        if code == BAD_NUMBER:
            return self.reject(sid, source_path, Reasons.MALFORMED, f"{at}: dob {dob} / photo_taken {taken} is not a number")
        if code == IMPLAUSIBLE_AGE:
            return self.filtered(sid, source_path, "implausible age",
                                 f"{at}: dob {dob}, photo_taken {taken}: age outside {MIN_AGE}..{MAX_AGE}")
        return self.reject(sid, source_path, Reasons.UNKNOWN_LABEL, f"{at}: gender {values['gender'][row]} is not 1, 0 or NaN")

