"""AFAD (AFAD-Full): age and gender from the folder tree -> ``afad age: 15; gender: male;``.

Records come from ``AFAD-Full.txt``, the release's own list of its images, one ``./<age>/<111|112>/
<user id>-<n>.jpg`` path per line (FORMATS.md section 7)::

    ./15/111/109008-0.jpg

The age is the first folder, the gender the second (111 male, 112 female); the split is the stable
hash of the user id, the part of the file name before ``-`` (so every face of a person, under either
gender folder, lands in one split). The source id is the path without ``./`` (``15/111/109008-0.jpg``).

Decisions, since the list and the tree can disagree:

* a list line whose file is not on disk is rejected ``image missing``;
* an image on disk that the list does not name is ignored: the list defines the dataset, and the
  tree holds strays the authors never listed (``Thumbs.db`` in every folder, which is never a record);
* a list line not shaped ``<age>/<gender>/<file>``, or with a non-numeric age is a ``malformed file
  name`` (the path is the annotation); a path listed twice is a ``malformed line``; one
  naming something other than a ``.jpg``/``.jpeg``/``.png`` file (the real list names 14 ``Thumbs.db``,
  ``./20/111/Thumbs.db``) is rejected ``not an image``; a gender folder other than 111/112 is an
  unknown label.

Accepted variants: lines with or without ``./``, backslashes, CRLF; the extra top folder ``AFAD-Full/``
that the tarball unpacks to.

Source and terms (`SOURCE`): taken from the AFAD page and its tarball repository; we recall no
explicit terms for the photos (collected from a social network), so it is classed research-only to
be safe, as stated on https://github.com/afad-dataset/tarball; written from what we know of the
dataset's published terms, not verified offline and not re-checked online (no network when it was
written): check them there before using the data.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Iterator

from converters.base import Converter, DatasetRoot, Outcome
from schemas import FaceRecord, Reasons, Text, format_attributes, stable_split
from schemas.source import Source

LIST_FILE = "AFAD-Full.txt"
GENDERS = {"111": "male", "112": "female"}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


@functools.lru_cache(maxsize=1024)
def attribute_text(age: int, gender: str) -> Text:
    """The text of one (age, gender), formatted once: ``afad age: 15; gender: male;``."""
    return Text("attributes", format_attributes("afad", {"age": age, "gender": gender}))


def user_id(file_name: str) -> str:
    """The person id of an AFAD file name: ``109008-0.jpg`` -> ``109008``."""
    head, dash, _ = file_name.partition("-")
    return head if dash else posixpath.splitext(file_name)[0]


SOURCE = Source(
    name="AFAD",
    homepage="https://afad-dataset.github.io/",
    terms="research use; the repository holding the tarball may carry a code licence (MIT?) that does not cover the photos",
    terms_url="https://github.com/afad-dataset/tarball",
    terms_class="research-only",
    citation=r"""@inproceedings{niu2016ordinal,
  title = {Ordinal Regression with Multiple Output CNN for Age Estimation},
  author = {Niu, Zhenxing and Zhou, Mo and Wang, Le and Gao, Xinbo and Hua, Gang},
  booktitle = {Proceedings of the IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  year = {2016}
}""",
)


class AFAD(Converter):
    source = SOURCE
    key = "afad"
    text_kind = "attributes"
    prefix = "afad"
    splits = {"train": "stable hash of the user id < 90", "val": "< 95", "test": "the rest"}
    native_files = (LIST_FILE, "<age>/<111|112>/")
    fake = "converters.fakes.afad"
    label_values = {"gender": tuple(GENDERS.values())}
    integer_keys = frozenset({"age"})

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(LIST_FILE)
        on_disk = root.listing()
        url_base, path_base = root.url_of(""), root.source_path("")
        splits: dict[str, str] = {}
        seen: dict[str, str] = {}
        for number, line in root.lines(LIST_FILE):
            rel = line.strip().replace("\\", "/")
            while rel.startswith("./"):
                rel = rel[2:]
            source_path = f"{path_base}/{rel}"
            parts = rel.split("/")
            repeat = self.repeated(seen, rel, f"line {number}", source_path, file=LIST_FILE)
            if repeat:  # checked first, so two equal bad lines get two ids
                yield repeat
                continue
            if len(parts) != 3 or not parts[0].isdigit() or not parts[2]:
                yield self.reject(rel or f"{LIST_FILE} line {number}", source_path, Reasons.MALFORMED_NAME,
                                  f"{LIST_FILE} line {number}: expected './<age>/<111|112>/<id>-<n>.jpg': {line[:120]!r}")
                continue
            if not parts[2].lower().endswith(IMAGE_EXTENSIONS):  # the real list names 14 Thumbs.db files
                yield self.reject(rel, source_path, Reasons.NOT_AN_IMAGE,
                                  f"{LIST_FILE} line {number}: {parts[2]!r} is not a {'/'.join(IMAGE_EXTENSIONS)} file")
                continue
            age, gender, name = parts
            if gender not in GENDERS:
                yield self.reject(rel, source_path, Reasons.UNKNOWN_LABEL, f"{LIST_FILE} line {number}: gender folder {gender!r} is not 111 or 112")
                continue
            if rel not in on_disk:
                yield self.reject(rel, source_path, Reasons.IMAGE_MISSING, f"{rel} not found ({LIST_FILE} line {number})")
                continue
            person = user_id(name)
            split = splits.get(person)
            if split is None:
                split = splits[person] = stable_split(person)
            years, sex = int(age), GENDERS[gender]
            yield FaceRecord(self.key, rel, f"{url_base}/{rel}", source_path, split, {"age": years, "gender": sex},
                             (attribute_text(years, sex),), person_id=f"afad:{person}")
