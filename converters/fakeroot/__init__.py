"""A full-size synthetic raw root: all 13 datasets in their native layouts at a chosen scale.

``python -m converters fake-root OUT --scale F [--seed S]`` writes ``OUT/<key>/`` for every dataset
at F times its real size (CelebA 202,599 rows, AffectNet ~420k, IMDB 460,723 ... ; at least 24
records each) with a small distinct picture per record, real kinds of bad input planted at small
rates in seeded positions, and ``OUT/expected.json``: per dataset, what its converter must make of
it (records read, written, pairs, filtered and rejected by reason). Same F and seed, same bytes.

Pictures come from a `Painter` (see `core.Painter`); the default, `DistinctPainter`, draws faces
whose look does not depend on the labels. One module per dataset (``<key>.py``, a `write(ctx)`),
the shared machinery in `core`. Unlike ``converters.fakes`` (tiny, hand-written fixtures with every
quirk), this is for measuring and exercising a build at realistic size.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from converters.fakeroot.core import Context, DistinctPainter, Painter, Tally
from schemas.progress import track

_NOT_WRITERS = frozenset({"core", "captions", "signal"})  # shared machinery, not dataset writers


def _writers() -> tuple[tuple[str, ...], dict[str, str]]:
    """The dataset writers here (``<key>.py``), each after the one whose images it uses (its ``USES``)."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_WRITERS)
    needs = {n: uses for n in names if (uses := getattr(importlib.import_module(f"{__name__}.{n}"), "USES", None))}
    order: list[str] = []

    def place(name: str) -> None:
        if name not in order:
            if name in needs:
                place(needs[name])
            order.append(name)

    for name in names:
        place(name)
    return tuple(order), needs


ORDER, NEEDS = _writers()  # writers that leave images for another run first (CelebA for CelebA-Dialog)
EXPECTED = "expected.json"


def make_root(out: Path, scale: float, seed: int = 0, painter: Painter | None = None, workers: int = 2,
              only: Iterable[str] | None = None) -> dict[str, Any]:
    """Write the datasets (`only` some, plus those whose images they use) under `out`; returns expected.json's content."""
    if not scale > 0:
        raise ValueError(f"--scale must be > 0, got {scale}")
    keys = set(ORDER if only is None else only)
    unknown = keys - set(ORDER)
    if unknown:
        raise KeyError(f"no full-size writer for {sorted(unknown)}; have: {', '.join(sorted(ORDER))}")
    keys |= {NEEDS[k] for k in keys if k in NEEDS}
    out = Path(out)
    shared: dict[str, Any] = {}
    datasets: dict[str, Any] = {}
    for key in track([k for k in ORDER if k in keys], desc="fake-root datasets", unit="dataset"):
        if key in keys:
            ctx = Context(out, key, scale, seed, painter or DistinctPainter(), workers, shared)
            importlib.import_module(f"{__name__}.{key}").write(ctx)
            datasets[key] = ctx.tally.as_dict()
    expected = {"scale": scale, "seed": seed, "datasets": datasets}
    out.mkdir(parents=True, exist_ok=True)
    (out / EXPECTED).write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    return expected


__all__ = ["ORDER", "Context", "DistinctPainter", "Painter", "Tally", "make_root"]
