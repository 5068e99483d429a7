"""FS2K at scale: ``anno_train.json`` / ``anno_test.json`` (one flat object per photo) and ``photo/photoK/``.

The three groups keep their real shares (1,529 / 98 / 477) and aspect ratios; one ``photo3`` file
is upper-case ``.JPG`` and ``photo2`` also ships PNG sketches, as the real data. Planted: NaN lip
colours (the key is dropped, the record written), a ``hair_color`` 7 (unknown label), an entry
without ``gender`` (malformed), a missing photo. Sketches are grey copies of their photos.
"""

from __future__ import annotations

import json
import math
from typing import Any

from converters.fakeroot.core import Context
from converters.fs2k import entry_labels
from schemas import Reasons

REAL = 2_104
GROUPS = (("photo1", 1529, (64, 64)), ("photo2", 98, (56, 80)), ("photo3", 477, (80, 57)))


def write(ctx: Context) -> None:
    n = ctx.count(REAL)
    faults = ctx.pick(n, {"nan": 0.01, "hair 7": 0.003, "no gender": 0.003, "missing": 0.003})
    files: dict[str, list[str]] = {"anno_train.json": [], "anno_test.json": []}
    jobs = []
    counts = [max(1, round(n * real / REAL)) for _, real, _ in GROUPS]
    counts[0] = n - sum(counts[1:])
    i = 0
    for (group, _, size), k in zip(GROUPS, counts, strict=True):
        for j in range(k):
            r = ctx.rng
            entry: dict[str, Any] = {
                "image_name": f"{group}/image{j + 1:04d}", "skin_color": [int(v) for v in r.integers(20, 200, 2)],
                "lip_color": [float(v) for v in r.uniform(40, 240, 3)], "eye_color": [float(v) for v in r.uniform(20, 200, 3)],
                "hair": 0, "hair_color": int(r.integers(0, 5)), "gender": int(r.integers(0, 2)), "earring": int(r.integers(0, 2)),
                "smile": int(r.integers(0, 2)), "frontal_face": int(r.integers(0, 2)), "style": int(r.integers(0, 3)),
            }
            if entry["hair_color"] == 3:
                entry["hair"] = 1
            fault = faults.get(i)
            if fault == "nan":
                entry["lip_color"] = [math.nan] * 3
            elif fault == "hair 7":
                entry["hair_color"] = 7
            elif fault == "no gender":
                del entry["gender"]
            split_file = "anno_train.json" if i % 2 == 0 else "anno_test.json"
            files[split_file].append(json.dumps(entry))
            ext = ".JPG" if group == "photo3" and j == 0 else ".jpg"
            if fault != "missing":
                labels = entry_labels(entry) if fault in (None, "nan") else {}
                jobs.append(ctx.job(f"photo/{group}/image{j + 1:04d}{ext}", size, labels, i))
                sketch = f"sketch/{group.replace('photo', 'sketch')}/sketch{j + 1:04d}{'.png' if group == 'photo2' else '.jpg'}"
                jobs.append(ctx.job(sketch, size, labels, i, mode="L"))
            ctx.tally.count(fault, {"hair 7": Reasons.UNKNOWN_LABEL, "no gender": Reasons.MALFORMED,
                                    "missing": Reasons.IMAGE_MISSING})
            i += 1
    for rel, entries in files.items():
        ctx.text(rel, "[" + ",\n".join(entries) + "]\n")
    ctx.paint(jobs)
