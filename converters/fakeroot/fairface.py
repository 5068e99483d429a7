"""FairFace at scale: ``fairface_label_{train,val}.csv`` and the margin-0.25 ``train/`` / ``val/`` crops (56x56 JPEG).

Age bins, genders and the 7 races with the real spellings (``Latino_Hispanic``, ``more than 70``).
Planted: an unknown race (unknown label), a missing image.
"""

from __future__ import annotations

from converters.fairface import AGES, RACES
from converters.fakeroot.core import Context
from schemas import Reasons, canonical

REAL = {"train": 86_744, "val": 10_954}
SIZE = (56, 56)


def write(ctx: Context) -> None:
    ages, races, index, jobs = sorted(AGES), sorted(RACES), 0, []
    for split, real in REAL.items():
        n = ctx.count(real)
        faults = ctx.pick(n, {"race": 0.0002, "missing": 0.0003})
        lines = ["file,age,gender,race,service_test"]
        for i in range(n):
            fault = faults.get(i)
            age, race = ages[int(ctx.rng.integers(len(ages)))], races[int(ctx.rng.integers(len(races)))]
            gender = "Male" if ctx.rng.random() < 0.53 else "Female"
            if fault == "race":
                race = "Martian"
            lines.append(f"{split}/{i + 1}.jpg,{age},{gender},{race},{'True' if ctx.rng.random() < 0.5 else 'False'}")
            if fault != "missing":
                jobs.append(ctx.job(f"{split}/{i + 1}.jpg", SIZE, {"age": age, "gender": gender.lower(), "race": canonical(race)}, index))
            ctx.tally.count(fault, {"race": Reasons.UNKNOWN_LABEL, "missing": Reasons.IMAGE_MISSING})
            index += 1
        ctx.text(f"fairface_label_{split}.csv", "\n".join(lines) + "\n")
    ctx.paint(jobs)
