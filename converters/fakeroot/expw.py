"""ExpW at scale: ``label/label.lst`` (one line per face: name, face id, top, left, right, bottom, confidence, label)
and ``image/origin/`` (80x80 JPEG pictures; every 12th holds two faces).

Planted: an exact repeat of a line (filtered ``duplicate``), label 9 (unknown label), a short line
(malformed), an empty box (bad face box), a missing picture (every face line of it rejected). The
painter gets the labels of a picture's first face.
"""

from __future__ import annotations

import numpy as np

from converters.expw import DUPLICATE, EXPRESSIONS
from converters.fakeroot.core import Context
from schemas import Reasons

REAL = 91_793
SIZE = (80, 80)
WORDS = ("angry", "afraid", "amazed", "excited", "happy", "sad", "disgusted", "calm")
WHO = ("actor", "African", "girl", "boy", "woman", "man", "teacher", "baby")
SHARES = np.array([3671, 3995, 1088, 30537, 10559, 7060, 34883], dtype=float)  # labels 0..6


def write(ctx: Context) -> None:
    n = ctx.count(REAL)
    faults = ctx.pick(n, {"repeat": 0.001, "nine": 0.0002, "short": 0.0002, "box": 0.0002, "missing": 0.0003})
    labels = ctx.rng.choice(7, size=n, p=SHARES / SHARES.sum())
    pictures: list[tuple[str, list[int]]] = []
    i = 0
    while i < n:
        k = 2 if len(pictures) % 12 == 11 and i + 1 < n else 1
        p = len(pictures)
        pictures.append((f"{WORDS[p % 8]}_{WHO[(p // 8) % 8]}_{p // 64 + 1}.jpg", list(range(i, i + k))))
        i += k
    missing = {name for name, faces in pictures if any(faults.get(f) == "missing" for f in faces)}
    lines, jobs = [], []
    for p, (name, faces) in enumerate(pictures):
        for face_id, f in enumerate(faces):
            fault = faults.get(f)
            top, left = (int(v) for v in ctx.rng.integers(0, 20, 2))
            right, bottom = left + int(ctx.rng.integers(30, 60)), top + int(ctx.rng.integers(30, 60))
            head = ctx.box({"expression": EXPRESSIONS[int(labels[faces[0]])]}, p, SIZE) if fault != "box" else None
            if head is not None:  # the painter's face (the picture's first face's labels): its whole head
                left, top, right, bottom = head
            if fault == "box":
                right = left
            label = 9 if fault == "nine" else int(labels[faces[0]] if head is not None else labels[f])  # one face drawn
            line = f"{name} {face_id} {top} {left} {right} {bottom} {ctx.rng.uniform(5, 95):.4f} {label}"
            lines.append(" ".join(line.split()[:5]) if fault == "short" else line)
            if fault == "short":
                ctx.tally.reject(Reasons.MALFORMED)
            elif fault == "nine":
                ctx.tally.reject(Reasons.UNKNOWN_LABEL)
            elif fault == "box":
                ctx.tally.reject(Reasons.BAD_BOX)
            elif name in missing:
                ctx.tally.reject(Reasons.IMAGE_MISSING)
            else:
                ctx.tally.write()
            if fault == "repeat":
                lines.append(line)
                ctx.tally.filter(DUPLICATE)
        if name not in missing:
            first = labels[faces[0]]
            jobs.append(ctx.job(f"image/origin/{name}", SIZE, {"expression": EXPRESSIONS[int(first)]}, p))
    ctx.text("label/label.lst", "\n".join(lines) + "\n")
    ctx.paint(jobs)
