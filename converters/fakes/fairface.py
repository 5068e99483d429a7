"""A fake FairFace: the two label CSVs and ``train/`` / ``val/`` images.

6 train and 3 val rows written; one row with an unknown race and one whose image is missing
(2 rejects). Variants: ``default`` (clean), ``excel`` (ages and booleans as Excel re-saves them:
``9-Mar``, ``Oct-19``, ``TRUE``, with CRLF), ``prefixed`` (paths start with ``fairface/``, images in
the unzipped ``fairface-img-margin025-trainval/`` folder).
"""

from __future__ import annotations

from pathlib import Path

from converters.fakes import fake_face, save_image, write_text

TRAIN = [
    ("1", "50-59", "Male", "East Asian", "False"),
    ("2", "3-9", "Female", "Black", "True"),
    ("3", "10-19", "Male", "White", "False"),
    ("4", "more than 70", "Female", "Latino_Hispanic", "True"),
    ("5", "20-29", "Male", "Middle Eastern", "False"),
    ("6", "0-2", "Female", "Southeast Asian", "False"),
    ("7", "30-39", "Male", "Martian", "False"),  # unknown race: rejected
]
VAL = [
    ("1", "40-49", "Female", "Indian", "True"),
    ("2", "60-69", "Male", "White", "False"),
    ("3", "3-9", "Female", "East Asian", "True"),
    ("4", "10-19", "Male", "Black", "False"),  # image missing: rejected
]
EXCEL = {"3-9": "9-Mar", "10-19": "Oct-19", "True": "TRUE", "False": "FALSE"}


def make(folder: Path, variant: str = "default") -> None:
    folder = Path(folder)
    excel, prefixed = variant == "excel", variant == "prefixed"
    images = folder / "fairface-img-margin025-trainval" if prefixed else folder
    for split, table, offset in (("train", TRAIN, 0), ("val", VAL, 100)):
        lines = ["file,age,gender,race,service_test"]
        for n, age, gender, race, service in table:
            if excel:
                age, service = EXCEL.get(age, age), EXCEL[service]
            path = f"{'fairface/' if prefixed else ''}{split}/{n}.jpg"
            lines.append(f"{path},{age},{gender},{race},{service}")
            if not (split == "val" and n == "4"):
                save_image(fake_face(2000 + offset + int(n), (56, 56)), images / split / f"{n}.jpg")
        write_text(folder / f"fairface_label_{split}.csv", "\n".join(lines) + "\n", crlf=excel)
