"""CACD at scale: ``celebrity2000_meta.mat`` (MATLAB v5 structs in the real field order) and ``CACD2000/`` (50x50 JPEG).

163,446 photos of 2,000 celebrities, ages 14..62, names ``<age>_<First>_<Last>_<NNNN>.jpg``.
Planted: an empty name cell and a repeated file name (malformed), a missing photo.
"""

from __future__ import annotations

from converters.fakeroot.core import Context
from converters.fakes.cacd import meta_bytes
from schemas import Reasons

REAL = 163_446
PEOPLE = 2_000
SIZE = (50, 50)
FIRST = ("Robin", "Katie", "Dana", "Aaron", "Zoë", "Mia", "Noah", "Léa", "Omar", "Yuki")
LAST = ("Williams", "Findlay", "O'Neil", "Johnson", "Exämple", "Chen", "Diaz", "Kowalski", "Okafor", "Ito")


def write(ctx: Context) -> None:
    n = ctx.count(REAL)
    faults = ctx.pick(n, {"empty": 0.0001, "repeat": 0.0001, "missing": 0.0003})
    people = max(1, min(PEOPLE, n // 80))
    rows, jobs, used = [], [], dict[str, int]()
    for i in range(n):
        identity = 1 + i % people
        birth = 1950 + identity % 40
        year = 2004 + (i // people) % 10
        age = year - birth
        person = f"{FIRST[identity % 10]}_{LAST[(identity // 10) % 10]}{'' if identity < 100 else f'_{identity}'}"
        used[person] = used.get(person, 0) + 1
        name = f"{age}_{person}_{used[person]:04d}.jpg"
        fault = faults.get(i)
        if fault == "empty":
            rows.append(("", age, identity, year, birth, 1 + identity % 200, identity % 2))
            ctx.tally.reject(Reasons.MALFORMED)
            continue
        rows.append((name, age, identity, year, birth, 1 + identity % 200, identity % 2))
        if fault == "missing":
            ctx.tally.reject(Reasons.IMAGE_MISSING)
        else:
            ctx.tally.write()
            jobs.append(ctx.job(f"CACD2000/{name}", SIZE, {"age": age}, i))
        if fault == "repeat":
            rows.append(rows[-1])
            ctx.tally.reject(Reasons.MALFORMED)
    ctx.bytes("celebrity2000_meta.mat", meta_bytes(rows=rows))
    ctx.paint(jobs)
