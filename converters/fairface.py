"""FairFace: age bin, gender and race -> ``fairface age: 20-29; gender: male; race: east asian;``.

Reads ``fairface_label_train.csv`` (train) and ``fairface_label_val.csv`` (val), header
``file,age,gender,race,service_test``, images ``train/<n>.jpg`` / ``val/<n>.jpg`` beside them or
inside the unzipped ``fairface-img-margin025-trainval/`` (or margin125) folder::

    train/1.jpg,50-59,Male,East Asian,TRUE

Excel-mangled copies are repaired: ``9-Mar``/``03-Sep``/``3-Sep``/``Sep-03``/``Mar-09`` -> ``3-9`` and
``Oct-19``/``19-Oct`` -> ``10-19`` (FORMATS.md section 9). Paths with an extra prefix
(``fairface/val/1.jpg``) are matched on their split folder and file name. Each line is one row (a
stray ``"`` does not join the lines after it); a path listed twice is rejected the second time; a
header other than ``file,age,gender,race,...`` is a ConverterError.

Source and terms (`SOURCE`): taken from the FairFace repository's README (CC BY 4.0), as stated on
https://github.com/joojs/fairface; written from what we know of the dataset's published terms, not
verified offline and not re-checked online (no network when it was written): check them there before
using the data.
"""

from __future__ import annotations

import csv
import posixpath
from collections.abc import Iterator

from converters.base import Converter, ConverterError, DatasetRoot, Outcome
from schemas import Reasons, attribute_record, canonical
from schemas.source import Source

AGES = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70")
GENDERS = ("Male", "Female")
RACES = ("White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian", "Middle Eastern")
EXCEL_AGES = {
    "9-mar": "3-9", "mar-09": "3-9", "03-sep": "3-9", "3-sep": "3-9", "sep-03": "3-9", "sep-3": "3-9",
    "oct-19": "10-19", "19-oct": "10-19",
}
LABEL_FILES = {"train": "fairface_label_train.csv", "val": "fairface_label_val.csv"}
IMAGE_FOLDERS = ("", "fairface-img-margin025-trainval", "fairface-img-margin125-trainval")


def repair_age(value: str) -> str:
    """An age bin as FairFace spells it, undoing Excel's date conversion (``Oct-19`` -> ``10-19``)."""
    return EXCEL_AGES.get(value.strip().lower(), value.strip())


SOURCE = Source(
    name="FairFace",
    homepage="https://github.com/joojs/fairface",
    terms="images and labels under Creative Commons Attribution 4.0 (CC BY 4.0)",
    terms_url="https://github.com/joojs/fairface",
    terms_class="cc-by-4.0",
    citation=r"""@inproceedings{karkkainen2021fairface,
  title = {FairFace: Face Attribute Dataset for Balanced Race, Gender, and Age for Bias Measurement and Mitigation},
  author = {K{\"a}rkk{\"a}inen, Kimmo and Joo, Jungseock},
  booktitle = {Proceedings of the IEEE/CVF Winter Conference on Applications of Computer Vision (WACV)},
  pages = {1548--1558},
  year = {2021}
}""",
)


class FairFace(Converter):
    source = SOURCE
    key = "fairface"
    text_kind = "attributes"
    prefix = "fairface"
    splits = {"train": LABEL_FILES["train"], "val": LABEL_FILES["val"]}
    native_files = (LABEL_FILES["train"], LABEL_FILES["val"], "train/", "val/")
    fake = "converters.fakes.fairface"
    label_values = {"age": AGES, "gender": tuple(canonical(g) for g in GENDERS), "race": tuple(canonical(r) for r in RACES)}

    def records(self, root: DatasetRoot) -> Iterator[Outcome]:
        root = root.locate(*LABEL_FILES.values())
        folder = next((f for f in IMAGE_FOLDERS if root.isdir(posixpath.join(f, "train") if f else "train")
                       or root.isdir(posixpath.join(f, "val") if f else "val")), "")
        on_disk = root.listing(folder)
        seen: dict[str, str] = {}
        for split, rel in LABEL_FILES.items():
            if not root.exists(rel):
                continue
            lines = root.lines(rel)
            first = next(lines, None)
            header = next(csv.reader([first[1]])) if first is not None else None
            if header is None or [h.strip().lower() for h in header[:4]] != ["file", "age", "gender", "race"]:
                raise ConverterError(f"{root.source_path(rel)}: header {header} is not 'file,age,gender,race,...'")
            for number, line in lines:  # one row per line: a stray quote cannot swallow the lines after it
                fields = next(csv.reader([line]))
                if not any(f.strip() for f in fields):
                    continue
                if len(fields) < 4 or not fields[0].strip():
                    yield self.malformed(root, rel, number, line, f"expected 5 columns, got {len(fields)}, the first a path",
                                         source_id=f"{rel} line {number}")
                    continue
                path, age, gender, race = (f.strip() for f in fields[:4])
                parts = path.replace("\\", "/").split("/")
                image = "/".join(parts[-2:])  # <split dir>/<n>.jpg, whatever prefix the copy added
                rel_image = posixpath.join(folder, image) if folder else image
                source_path = root.source_path(rel_image)
                repeat = self.repeated(seen, image, f"{rel} line {number}", source_path)
                if repeat:
                    yield repeat
                    continue
                age = repair_age(age)
                bad = [f"{name} {value!r}" for name, value, known in
                       (("age", age, AGES), ("gender", gender, GENDERS), ("race", race, RACES)) if value not in known]
                if bad:
                    yield self.reject(image, source_path, Reasons.UNKNOWN_LABEL, f"{rel} line {number}: unknown {', '.join(bad)}")
                    continue
                if rel_image not in on_disk:
                    yield self.reject(image, source_path, Reasons.IMAGE_MISSING, f"{rel_image} not found")
                    continue
                yield attribute_record(
                    dataset=self.key, prefix=self.prefix, source_id=image, image=root.url_of(rel_image),
                    source_path=source_path, split=split,
                    labels={"age": age, "gender": gender.lower(), "race": canonical(race)},
                )
