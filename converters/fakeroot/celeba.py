"""CelebA at scale: ``Anno/list_attr_celeba.txt`` (count line, header with a trailing space, aligned -1/1),
``Eval/list_eval_partition.txt`` (the real 80.3/9.8/9.9% boundaries), ``Img/img_align_celeba/`` (64x78 JPEG).

Planted: a row short of a value (malformed), a value 0 (unknown label), a row absent from the
partition file (no split), a missing image. CelebA-Dialog reuses these images (``shared["celeba"]``).
"""

from __future__ import annotations

import numpy as np

from converters.celeba import ATTRIBUTES
from converters.fakeroot.core import Context
from schemas import Reasons, canonical

REAL = 202_599
SIZE = (64, 78)
BOUNDS = (162_770 / REAL, 182_637 / REAL)  # the last train and val image, as fractions


def write(ctx: Context) -> None:
    n = ctx.count(REAL)
    faults = ctx.pick(n, {"short": 0.0003, "value": 0.0003, "no split": 0.0003, "missing": 0.001})
    values = ctx.rng.choice(np.array(["-1", "1"]), size=(n, len(ATTRIBUTES)))
    attr = [f"{n}\n", " ".join(ATTRIBUTES) + " \n"]
    part, jobs, names, all_labels = [], [], [], []
    for i in range(n):
        name = f"{i + 1:06d}.jpg"
        names.append(name)
        row = list(values[i])
        fault = faults.get(i)
        if fault == "short":
            row = row[:-1]
        elif fault == "value":
            row[int(ctx.rng.integers(len(row)))] = "0"
        attr.append(f"{name} {row[0]}" + "".join(f" {v:>2}" for v in row[1:]) + "\n")
        split = "0" if i < BOUNDS[0] * n else "1" if i < BOUNDS[1] * n else "2"
        if fault != "no split":
            part.append(f"{name} {split}\n")
        labels: dict[str, bool | str] = {"gender": "male" if row[ATTRIBUTES.index("Male")] == "1" else "female"}
        labels.update((canonical(a), v == "1") for a, v in zip(ATTRIBUTES, row) if a != "Male")
        all_labels.append(labels)
        if fault != "missing":
            jobs.append(ctx.job(f"Img/img_align_celeba/{name}", SIZE, labels, i))
        ctx.tally.count(fault, {"short": Reasons.MALFORMED, "value": Reasons.UNKNOWN_LABEL, "no split": Reasons.NO_SPLIT,
                                "missing": Reasons.IMAGE_MISSING})
    ctx.text("Anno/list_attr_celeba.txt", "".join(attr))
    ctx.text("Eval/list_eval_partition.txt", "".join(part))
    ctx.text("Anno/identity_CelebA.txt", "".join(f"{name} {1 + (i * 7919) % 10177}\n" for i, name in enumerate(names)))
    ctx.paint(jobs)
    ctx.shared["celeba"] = {"names": names, "labels": all_labels, "missing": {names[i] for i, f in faults.items() if f == "missing"},
                            "split": {names[i]: ("train" if i < BOUNDS[0] * n else "val" if i < BOUNDS[1] * n else "test")
                                      for i in range(n)}}
