"""IMDB-WIKI at scale: ``imdb_crop/imdb.mat`` and ``wiki_crop/wiki.mat`` (the real struct fields and shapes,
MATLAB datenums) with the 64x64 ``*_crop`` JPEGs.

About 20 photos per IMDB person, one per WIKI person; shares of the real files' faults: face_score -inf (filtered ``no face``),
a second face (``several faces``), a NaN gender (written without gender), an age outside 0..100
(``implausible age``). Planted rejects: a missing image, gender 0.5 (unknown label), an empty
full_path cell, a NaN dob and a repeated full_path (malformed).
"""

from __future__ import annotations

import scipy.io

from converters.fakeroot.core import Context
from converters.fakes.imdb_wiki import datenum, struct
from schemas import Reasons

REAL = {"imdb": 460_723, "wiki": 62_328}
SIZE = (64, 64)
NAN, INF = float("nan"), float("inf")
RATES = {"no face": 0.10, "several faces": 0.15, "implausible age": 0.005, "nan gender": 0.02, "missing": 0.0003,
         "half gender": 0.0001, "empty path": 0.0001, "nan dob": 0.0001, "repeat": 0.0001}
REJECTS = {"missing": Reasons.IMAGE_MISSING, "half gender": Reasons.UNKNOWN_LABEL, "empty path": Reasons.MALFORMED,
           "nan dob": Reasons.MALFORMED}
FILTERS = {reason: reason for reason in ("no face", "several faces", "implausible age")}


def write(ctx: Context) -> None:
    index = 0
    for subset, real in REAL.items():
        n = ctx.count(real)
        faults = ctx.pick(n, RATES)
        rows, jobs = [], []
        for i in range(n):
            fault = faults.get(i)
            person = 1 + (i // 20 if subset == "imdb" else i)  # WIKI: about one photo per person
            year, month, day = 1930 + person % 60, 1 + int(ctx.rng.integers(12)), 1 + int(ctx.rng.integers(28))
            age = 130 if fault == "implausible age" else int(ctx.rng.integers(12, 70))
            taken = year + age + (month >= 7)
            if subset == "imdb":
                path = f"{person % 100:02d}/nm{person:07d}_rm{1000000 + i}_{year}-{month}-{day}_{taken}.jpg"
            else:
                path = f"{person % 100:02d}/{10000000 + person}_{year}-{month:02d}-{day:02d}_{taken}.jpg"
            gender = NAN if fault == "nan gender" else 0.5 if fault == "half gender" else float(ctx.rng.integers(2))
            face = -INF if fault == "no face" else float(ctx.rng.uniform(1, 5))
            second = float(ctx.rng.uniform(0.5, 3)) if fault == "several faces" else NAN
            dob = NAN if fault == "nan dob" else datenum(year, month, day, float(ctx.rng.choice([0.0, 0.5])))
            rows.append(("" if fault == "empty path" else path, dob, taken, gender, face, second, f"Person {person}"))
            ctx.tally.count(fault, REJECTS, filters=FILTERS)
            if fault not in ("missing", "empty path"):
                labels: dict[str, int | str] = {"age": age}
                if gender in (0.0, 1.0):
                    labels["gender"] = "male" if gender == 1.0 else "female"
                jobs.append(ctx.job(f"{subset}_crop/{path}", SIZE, labels, index + i))
            if fault == "repeat":
                rows.append(rows[-1])
                ctx.tally.reject(Reasons.MALFORMED)
        (ctx.folder / f"{subset}_crop").mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(ctx.folder / f"{subset}_crop" / f"{subset}.mat", {subset: struct(rows, subset)})
        ctx.paint(jobs)
        index += n
