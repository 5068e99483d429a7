"""A fake CelebA in its native layout: count line, header with a trailing space, aligned -1/1 values.

12 attribute rows: 4 train, 2 val, 2 test written; one row short of a value, one with a value
that is not 1/-1, one whose image is missing, one absent from the partition file (4 rejects).
Variants: ``official`` (Anno/, Eval/, Img/), ``flat`` (CRLF, everything in one folder),
``kaggle`` (the CSV mirror), ``nested`` (official, inside an extra ``CelebA/`` folder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from converters.celeba import ATTRIBUTES
from converters.fakes import fake_face, save_image, write_text

N = 12
SPLIT_OF = {i: "0" for i in range(1, 8)} | {8: "1", 9: "1", 10: "2", 11: "2"}  # 12: no partition row
SHORT_ROW, BAD_VALUE_ROW, MISSING_IMAGE = 5, 6, 7


def rows(seed: int = 0) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(1, N + 1):
        values = [str(v) for v in rng.choice([-1, 1], size=len(ATTRIBUTES))]
        if i == SHORT_ROW:
            values = values[:-1]
        if i == BAD_VALUE_ROW:
            values[3] = "0"
        out[f"{i:06d}.jpg"] = values
    return out


def make(folder: Path, variant: str = "official") -> None:
    folder = Path(folder)
    if variant == "nested":
        folder, variant = folder / "CelebA", "official"
    table = rows()
    crlf = variant == "flat"
    if variant == "kaggle":
        attr = "image_id," + ",".join(ATTRIBUTES) + "\n"
        attr += "".join(f"{name},{','.join(v)}\n" for name, v in table.items())
        part = "image_id,partition\n" + "".join(f"{f'{i:06d}.jpg'},{s}\n" for i, s in SPLIT_OF.items())
        write_text(folder / "list_attr_celeba.csv", attr)
        write_text(folder / "list_eval_partition.csv", part)
        images = folder / "img_align_celeba" / "img_align_celeba"
    else:
        attr = f"{len(table)}\n" + " ".join(ATTRIBUTES) + " \n"
        attr += "".join(f"{name} {v[0]}" + "".join(f" {x:>2}" for x in v[1:]) + "\n" for name, v in table.items())
        part = "".join(f"{i:06d}.jpg {s}\n" for i, s in SPLIT_OF.items())
        anno, evl, images = (
            (folder / "Anno", folder / "Eval", folder / "Img" / "img_align_celeba")
            if variant == "official" else (folder, folder, folder / "img_align_celeba")
        )
        write_text(anno / "list_attr_celeba.txt", attr, crlf=crlf)
        write_text(evl / "list_eval_partition.txt", part, crlf=crlf)
        write_text(anno / "identity_CelebA.txt", "".join(f"{i:06d}.jpg {100 + i % 3}\n" for i in range(1, N + 1)), crlf=crlf)
    for i in range(1, N + 1):
        if i != MISSING_IMAGE:
            save_image(fake_face(1000 + i, (178 // 2, 218 // 2)), images / f"{i:06d}.jpg")
