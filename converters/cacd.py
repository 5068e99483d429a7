"""CACD: the age of each photo -> ``cacd age: 53;``.

Reads ``celebrity2000_meta.mat`` (MATLAB v5, ``scipy.io.loadmat``) and the photos in ``CACD2000/``
(FORMATS.md section 6). ``celebrityImageData`` is a 1x1 struct of 163,446x1 columns, fields in the
real file's order ``age, identity, year, feature, rank, lfw, birth, name``; as loadmat prints it::

    [[(array([[53],[53],...], dtype=uint8), array([[1],[1],...], dtype=uint16), ...,
       array([[array(['53_Robin_Williams_0001.jpg'], dtype='<U26')], ...], dtype=object))]]

Fields are read by NAME (``age``, ``identity``, ``name``), never by position, so a copy saved with
another field order reads the same. A file name is a nested cell, ``d['name'][i][0][0]``. The split
is the stable hash of ``identity`` written as a decimal string (``2000``), so every photo of one
celebrity is in one split. ``celebrity2000.mat`` (v7.3/HDF5, with features) is not read: a folder
with only that file is a ConverterError saying so. An empty name cell is a malformed row; a file
name listed twice is rejected the second time. One extra top folder is accepted.

Source and terms (`SOURCE`): taken from the CARC project page (research purposes only), as stated on
https://bcsiriuschen.github.io/CARC/; written from what we know of the dataset's published terms,
not verified offline and not re-checked online (no network when it was written): check them there
before using the data.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.io

from converters.base import Converter, ConverterError, DatasetRoot, Outcome
from schemas import FaceRecord, Reasons, Text, format_attributes, stable_split
from schemas.source import Source

META_FILE = "celebrity2000_meta.mat"
FULL_FILE = "celebrity2000.mat"  # v7.3 with features: not read
STRUCT = "celebrityImageData"
FIELDS = ("age", "identity", "year", "feature", "rank", "lfw", "birth", "name")  # the real file's order
IMAGE_FOLDER = "CACD2000"


@functools.lru_cache(maxsize=256)
def attribute_text(age: int) -> Text:
    """The text of one age, formatted once: ``cacd age: 53;``."""
    return Text("attributes", format_attributes("cacd", {"age": age}))


def cell_string(cell: Any) -> str | None:
    """The string in a MATLAB cell as loadmat returns it (``array([array(['x.jpg'])])``); None if empty."""
    if isinstance(cell, np.ndarray) and cell.dtype.kind == "U" and cell.size == 1:
        return cell.item() or None  # the usual shape: one string in a 1-element array
    while isinstance(cell, np.ndarray):
        if cell.size != 1:
            return None
        cell = cell.ravel()[0]
    return str(cell) if isinstance(cell, str) and cell else None


def image_data(data: bytes, where: str) -> dict[str, list[Any]]:
    """The ``age``, ``identity`` and ``name`` columns of ``celebrityImageData`` as Python lists, by field name.

    A value that is not a whole number (or a name cell that holds no string) is None in its list.
    """
    try:
        mat = scipy.io.loadmat(io.BytesIO(data))
    except NotImplementedError as err:  # scipy's answer to v7.3 (HDF5) files
        raise ConverterError(f"{where} is a MATLAB v7.3 file ({err}); use the v5 {META_FILE} of the CACD release") from err
    except Exception as err:
        raise ConverterError(f"{where} is not a readable MATLAB file ({err}); re-download {META_FILE}") from err
    if STRUCT not in mat:
        raise ConverterError(f"{where} has no {STRUCT!r} (has {sorted(k for k in mat if not k.startswith('__'))})")
    struct = mat[STRUCT]
    names = struct.dtype.names or ()
    missing = [f for f in ("age", "identity", "name") if f not in names]
    if missing or struct.size != 1:
        raise ConverterError(f"{where}: {STRUCT} must be a 1x1 struct with fields age, identity, name; "
                             f"found shape {struct.shape}, fields {names}")
    record = struct.ravel()[0]
    columns: dict[str, list[Any]] = {
        "age": _whole_numbers(record["age"], where, "age"),
        "identity": _whole_numbers(record["identity"], where, "identity"),
        "name": [cell_string(c) for c in np.asarray(record["name"], dtype=object).ravel()],
    }
    sizes = {k: len(v) for k, v in columns.items()}
    if len(set(sizes.values())) != 1:
        raise ConverterError(f"{where}: {STRUCT} columns differ in length: {sizes}")
    return columns


SOURCE = Source(
    name="CACD",
    homepage="https://bcsiriuschen.github.io/CARC/",
    terms="for research purposes only; the images are of celebrities collected from the web",
    terms_url="https://bcsiriuschen.github.io/CARC/",
    terms_class="research-only",
    citation=r"""@inproceedings{chen2014cross,
  title = {Cross-Age Reference Coding for Age-Invariant Face Recognition and Retrieval},
  author = {Chen, Bor-Chun and Chen, Chu-Song and Hsu, Winston H.},
  booktitle = {Proceedings of the European Conference on Computer Vision (ECCV)},
  year = {2014}
}""",
)


class CACD(Converter):
    source = SOURCE
    key = "cacd"
    text_kind = "attributes"
    prefix = "cacd"
    splits = {"train": "stable hash of identity < 90", "val": "< 95", "test": "the rest"}
    native_files = (META_FILE, f"{IMAGE_FOLDER}/")
    fake = "converters.fakes.cacd"
    integer_keys = frozenset({"age"})

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        try:
            root = root.locate(META_FILE)
        except ConverterError as err:
            if root.exists(FULL_FILE):
                raise ConverterError(f"{root.source_path(FULL_FILE)} is the v7.3 file; {META_FILE} is needed") from err
            raise
        columns = image_data(root.read_bytes(META_FILE), root.source_path(META_FILE))
        on_disk = root.listing(IMAGE_FOLDER)
        url_base, path_base = root.url_of(IMAGE_FOLDER), root.source_path(IMAGE_FOLDER)
        splits: dict[int, str] = {}
        seen: dict[str, str] = {}
        for row, (age, identity, name) in enumerate(zip(columns["age"], columns["identity"], columns["name"]), start=1):
            if name is None:
                yield self.reject(f"{STRUCT} row {row}", root.source_path(META_FILE), Reasons.MALFORMED,
                                  f"{META_FILE} {STRUCT} row {row}: empty name cell")
                continue
            source_path = f"{path_base}/{name}"
            repeat = self.repeated(seen, name, f"row {row}", source_path, file=f"{META_FILE} {STRUCT}")
            if repeat:
                yield repeat
                continue
            if age is None or identity is None:
                yield self.reject(name, source_path, Reasons.MALFORMED,
                                  f"{META_FILE} {STRUCT} row {row}: age or identity is not a whole number")
                continue
            if f"{IMAGE_FOLDER}/{name}" not in on_disk:
                yield self.reject(name, source_path, Reasons.IMAGE_MISSING, f"{IMAGE_FOLDER}/{name} not found ({META_FILE} {STRUCT} row {row})")
                continue
            split = splits.get(identity)
            if split is None:
                split = splits[identity] = stable_split(str(identity))
            yield FaceRecord(self.key, name, f"{url_base}/{name}", source_path, split, {"age": age}, (attribute_text(age),),
                             person_id=f"cacd:{identity}")


def _whole_numbers(column: Any, where: str, field: str) -> list[int | None]:
    """A numeric column as Python ints (MATLAB stores uint8/uint16; doubles are accepted when whole)."""
    values = np.asarray(column).ravel()
    if values.dtype.kind in "ui":
        return values.tolist()
    if values.dtype.kind not in "fb":
        raise ConverterError(f"{where}: {STRUCT}.{field} holds {values.dtype}, expected numbers")
    whole = np.isfinite(values) & (values == np.round(values))
    return [int(v) if ok else None for v, ok in zip(values.tolist(), whole.tolist())]
