"""RAF-DB (basic) at scale: ``EmoLabel/list_patition_label.txt`` (sic) and ``Image/aligned/<stem>_aligned.jpg`` (64x64).

12,271 ``train_NNNNN`` and 3,068 ``test_NNNN`` lines with the real label shares. Planted: a
compound-only label (filtered ``compound expression``), label 0 (unknown label), a line without a
label (malformed), a missing aligned image.
"""

from __future__ import annotations

import numpy as np

from converters.fakeroot.core import Context
from converters.rafdb import COMPOUND, EXPRESSIONS, aligned_name
from schemas import Reasons

REAL = {"train": 12_271, "test": 3_068}
SHARES = np.array([1619, 355, 877, 5957, 2460, 867, 3204], dtype=float)  # labels 1..7
SIZE = (64, 64)


def write(ctx: Context) -> None:
    lines, jobs, index = [], [], 0
    for split, real in REAL.items():
        n = ctx.count(real, minimum=12)
        faults = ctx.pick(n, {"compound": 0.0005, "zero": 0.0003, "short": 0.0003, "missing": 0.0005})
        labels = 1 + ctx.rng.choice(7, size=n, p=SHARES / SHARES.sum())
        for i in range(n):
            name = f"{split}_{i + 1:05d}.jpg" if split == "train" else f"{split}_{i + 1:04d}.jpg"
            fault = faults.get(i)
            label = {"compound": 9, "zero": 0}.get(fault or "", int(labels[i]))
            lines.append(name if fault == "short" else f"{name} {label}")
            if fault != "missing":
                typed = {"expression": EXPRESSIONS[label].lower()} if label in EXPRESSIONS else {}
                jobs.append(ctx.job(f"Image/aligned/{aligned_name(name)}", SIZE, typed, index))
            ctx.tally.count(fault, {"zero": Reasons.UNKNOWN_LABEL, "short": Reasons.MALFORMED, "missing": Reasons.IMAGE_MISSING},
                            filters={"compound": COMPOUND})
            index += 1
    ctx.text("EmoLabel/list_patition_label.txt", "\n".join(lines) + "\n")
    ctx.paint(jobs)
