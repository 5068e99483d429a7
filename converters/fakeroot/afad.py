"""AFAD-Full at scale: ``AFAD-Full/<age>/<111|112>/<user>-<n>.jpg`` (48x48 JPEG) and ``AFAD-Full.txt`` (``./`` paths).

Ages 15..72, about 60% male as the real set; ``Thumbs.db`` files in some folders. Planted: a path
listed twice (malformed line) and a line without a file name (malformed file name), a gender folder 113 (unknown label), a
missing photo.
"""

from __future__ import annotations

from converters.fakeroot.core import Context
from schemas import Reasons

REAL = 164_432
SIZE = (48, 48)


def write(ctx: Context) -> None:
    n = ctx.count(REAL)
    faults = ctx.pick(n, {"twice": 0.0001, "no name": 0.0001, "113": 0.0001, "missing": 0.0003})
    lines, jobs, folders = [], [], set()
    for i in range(n):
        age = 15 + int(ctx.rng.integers(0, 58))
        gender = "111" if ctx.rng.random() < 0.6 else "112"
        fault = faults.get(i)
        if fault == "113":
            gender = "113"
        rel = f"{age}/{gender}/{100000 + i // 3}-{i % 3}.jpg"
        lines.append(f"./{age}/{gender}" if fault == "no name" else f"./{rel}")
        if fault == "no name":
            ctx.tally.reject(Reasons.MALFORMED_NAME)
            continue
        ctx.tally.count(fault, {"113": Reasons.UNKNOWN_LABEL, "missing": Reasons.IMAGE_MISSING})
        if fault != "missing":
            jobs.append(ctx.job(f"AFAD-Full/{rel}", SIZE, {"age": age, "gender": "male" if gender == "111" else "female"}, i))
            folders.add(f"{age}/{gender}")
        if fault == "twice":
            lines.append(f"./{rel}")
            ctx.tally.reject(Reasons.MALFORMED)
    ctx.text("AFAD-Full/AFAD-Full.txt", "\n".join(lines) + "\n")
    for folder in sorted(folders)[::7]:
        ctx.bytes(f"AFAD-Full/{folder}/Thumbs.db", b"\xd0\xcf\x11\xe0 stray thumbnail cache")
    ctx.paint(jobs)
