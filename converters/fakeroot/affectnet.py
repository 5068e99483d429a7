"""AffectNet at scale: ``Manually_Annotated_file_lists/{training,validation}.csv`` and ``Manually_Annotated_Images/``.

Rows follow the real class shares (about 20% ``non-face``, 8% ``none``, 3% ``uncertain``: filtered,
with valence/arousal -2), 136 landmark floats ``;``-joined in one field, 56-hex file names under
numbered sub-folders, a few ``.png`` / ``.JPG``. Planted: a row without its landmark column
(malformed), expression 11 (unknown label), an empty box (bad face box), a missing image.
"""

from __future__ import annotations

import hashlib

import numpy as np

from converters.affectnet import EXPRESSIONS, FILTERED, HEADER
from converters.fakeroot.core import Context
from schemas import LabelValue, Reasons

REAL = {"training.csv": 414_799, "validation.csv": 5_500}
SHARES = np.array([75.4, 134.9, 25.9, 14.6, 6.9, 4.3, 25.4, 4.3, 33.1, 11.6, 82.4])  # thousands, ids 0..10
SIZE = (64, 64)


def _two(value: float) -> float:
    return round(float(f"{value:.6f}"), 2) + 0.0


def write(ctx: Context) -> None:
    index = 0
    jobs = []
    for file, real in REAL.items():
        n = ctx.count(real)
        faults = ctx.pick(n, {"short": 0.0002, "eleven": 0.0001, "box": 0.0001, "missing": 0.0002})
        expressions = ctx.rng.choice(len(SHARES), size=n, p=SHARES / SHARES.sum())
        va = ctx.rng.uniform(-1, 1, size=(n, 2))
        lines = [",".join(HEADER)]
        for i in range(n):
            fault = faults.get(i)
            digest = hashlib.sha224(f"{ctx.seed}/{index}".encode()).hexdigest()
            ext = ".png" if index % 97 == 0 else ".JPG" if index % 89 == 0 else ".jpg"
            path = f"{1 + index % 1000}/{digest}{ext}"
            expression = 11 if fault == "eleven" else int(expressions[i])
            valence, arousal = (-2.0, -2.0) if expression in FILTERED else (float(va[i, 0]), float(va[i, 1]))
            x, y = (int(v) for v in ctx.rng.integers(2, 12, 2))
            w = 0 if fault == "box" else int(ctx.rng.integers(40, 64 - max(x, y)))
            h = w
            labels: dict[str, LabelValue] = {} if expression not in range(len(EXPRESSIONS)) else {
                "expression": EXPRESSIONS[expression].lower(), "valence": _two(valence), "arousal": _two(arousal)}
            head = ctx.box(labels, index, SIZE) if fault != "box" else None
            if head is not None:  # the painter's face: the box holds its whole head
                x, y, w, h = head[0], head[1], head[2] - head[0], head[3] - head[1]
            landmarks = [] if fault == "short" else [";".join(f"{v:.2f}" for v in ctx.rng.uniform(x, x + w + 1, 136))]
            lines.append(",".join([path, str(x), str(y), str(w), str(h), *landmarks, str(expression),
                                   f"{valence:g}" if valence == -2 else f"{valence:.6f}",
                                   f"{arousal:g}" if arousal == -2 else f"{arousal:.6f}"]))
            if fault != "missing":
                jobs.append(ctx.job(f"Manually_Annotated_Images/{path}", SIZE, labels, index))
            if fault == "short":
                ctx.tally.reject(Reasons.MALFORMED)
            elif expression in FILTERED:
                ctx.tally.filter(FILTERED[expression])
            elif fault == "eleven":
                ctx.tally.reject(Reasons.UNKNOWN_LABEL)
            elif fault == "box":
                ctx.tally.reject(Reasons.BAD_BOX)
            elif fault == "missing":
                ctx.tally.reject(Reasons.IMAGE_MISSING)
            else:
                ctx.tally.write()
            index += 1
        ctx.text(f"Manually_Annotated_file_lists/{file}", "\n".join(lines) + "\n")
    ctx.paint(jobs)
