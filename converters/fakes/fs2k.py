"""A fake FS2K: ``anno_train.json`` / ``anno_test.json`` and the photos (and a few unused sketches).

5 train and 3 test entries written. Quirks covered: ``image_name`` without extension (photos on disk
as ``.jpg``, upper-case ``.JPG`` and ``.png``), ``skin_color`` in most entries but ``skin_patch`` (the
README's name) in one and neither in another, a ``NaN`` lip colour and an empty ``[]`` eye colour
(each drops that key only), inverted earring/smile flags. 4 rejects: an unknown ``hair_color`` 7,
an entry without ``gender``, a photo that is missing, and a test entry that repeats a train
``image_name``. Variants: ``default`` (one entry per line, LF) and ``nested`` (inside an extra
``FS2K/`` folder, pretty-printed JSON with CRLF, one photo with a non-ASCII, spaced name).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from converters.fakes import fake_face, save_image, write_text

NAN = math.nan


def _entry(name: str, lip: Any, eye: Any, hair: int, hair_color: int, gender: int, earring: int, smile: int,
           frontal: int, style: int, skin: str | None = "skin_color") -> dict[str, Any]:
    entry: dict[str, Any] = {"image_name": name}
    if skin:
        entry[skin] = [163, 139]
    entry |= {"lip_color": lip, "eye_color": eye, "hair": hair, "hair_color": hair_color, "gender": gender,
              "earring": earring, "smile": smile, "frontal_face": frontal, "style": style}
    if gender < 0:
        del entry["gender"]
    return entry


def entries(nested: bool = False) -> dict[str, list[dict[str, Any]]]:
    odd_name = "photo2/imáge 0099" if nested else "photo2/image0099"
    train = [
        _entry("photo1/image0110", [188.0, 143.0, 142.0], [118.65178571428571, 72.25892857142857, 69.59821428571429],
               0, 2, 0, 1, 1, 1, 0),
        _entry("photo1/image0002", [156.97750511247443, 82.51124744376278, 79.0], [60.2, 40.1, 38.9],
               0, 1, 1, 0, 0, 0, 1, skin="skin_patch"),
        _entry("photo2/image0001", [NAN, NAN, NAN], [250.0, 250.0, 210.0], 1, 3, 0, 1, 0, 0, 2, skin=None),  # .png
        _entry("photo3/image0449", [205.0, 92.0, 92.0], [], 0, 4, 1, 0, 1, 0, 2),  # .JPG on disk
        _entry(odd_name, [128.0, 128.0, 128.0], [0.0, 255.0, 255.0], 0, 0, 1, 1, 1, 0, 1),
        _entry("photo1/image0005", [150.0, 90.0, 80.0], [70.0, 50.0, 40.0], 0, 7, 0, 1, 1, 0, 0),  # hair_color 7
        _entry("photo1/image0006", [150.0, 90.0, 80.0], [70.0, 50.0, 40.0], 0, 1, -1, 1, 1, 0, 0),  # no gender
    ]
    test = [
        _entry("photo1/image0201", [169.0, 169.0, 169.0], [85.0, 107.0, 47.0], 0, 1, 0, 1, 1, 0, 0),
        _entry("photo2/image0050", [219.0, 112.0, 147.0], [47.0, 79.0, 79.0], 0, 0, 1, 1, 0, 0, 1),
        _entry("photo3/image0300", [240.0, 128.0, 128.0], [NAN, NAN, NAN], 0, 2, 1, 0, 0, 1, 2),
        _entry("photo3/image0301", [240.0, 128.0, 128.0], [40.0, 40.0, 40.0], 0, 2, 1, 0, 0, 1, 2),  # photo missing
        _entry("photo1/image0110", [188.0, 143.0, 142.0], [118.0, 72.0, 69.0], 0, 2, 0, 1, 1, 1, 0),  # repeats train
    ]
    return {"anno_train.json": train, "anno_test.json": test}


EXTENSIONS = {"photo2/image0001": ".png", "photo3/image0449": ".JPG"}
MISSING = {"photo3/image0301"}


def make(folder: Path, variant: str = "default") -> None:
    folder = Path(folder)
    nested = variant == "nested"
    if nested:
        folder = folder / "FS2K"
    seed = 3000
    for file, table in entries(nested).items():
        if nested:
            text = json.dumps(table, indent=4, ensure_ascii=False)
        else:
            text = "[" + ",\n".join(json.dumps(e) for e in table) + "]"
        write_text(folder / file, text + "\n", crlf=nested)
        for entry in table:
            name = entry["image_name"]
            seed += 1
            if name in MISSING:
                continue
            group, stem = name.split("/")
            save_image(fake_face(seed, (50, 50)), folder / "photo" / f"{name}{EXTENSIONS.get(name, '.jpg')}")
            sketch_ext = ".png" if group == "photo2" else ".jpg"  # sketch2 ships PNGs
            sketch = folder / "sketch" / group.replace("photo", "sketch") / f"sketch{stem[-4:]}{sketch_ext}"
            save_image(fake_face(seed, (50, 50)).convert("L"), sketch)
