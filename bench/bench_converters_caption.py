"""Benchmark: the IMDB-WIKI and MM-CelebA-HQ converters against a straightforward implementation.

Run: ``.venv/bin/python bench/bench_converters_caption.py [--rows 500000] [--captions 30000]``

What it measures, in one process (records/s = per core):

* **imdb_wiki** on a generated 500k-row ``imdb.mat`` (the real struct shapes: 1xN double rows, 1xN
  cells of 1-element strings for ``full_path`` and ``name``, a cell of 1x4 doubles for
  ``face_location``; a realistic mix of -inf face scores, second faces, NaN genders, impossible
  ages). ``scipy.io.loadmat`` is timed once and reported on its own: both implementations need it
  and neither can make it faster. The conversion is then timed from the loaded struct: ours
  (`ImdbWiki.convert_struct`, vectorised numpy + a record-building loop) against a pandas
  DataFrame + ``itertuples`` loop that does the same rules row by row (``date.fromordinal``,
  ``stable_split`` and ``format_attributes`` per row). Both must give identical outcomes.
* **mm_celeba_hq** on 30k generated caption files of 10 lines, end to end (listing, reading and
  decoding the files, pickles): ours (`MmCelebaHq.records`) against a plain ``os.listdir`` / ``open``
  loop. Both must give identical outcomes.

Text-only path: no image files are written. The image folders' listings are given to the
converters (a `DatasetRoot` whose ``listing()`` returns the known image paths), so the timings
exclude walking 500k image files, which a real run pays once per folder.

The 500k-row ``.mat`` is written with a small MAT v5 writer below (``savemat`` takes minutes on
1.5M cell elements); a self-check first verifies that ``loadmat`` reads it exactly as it reads
``savemat``'s output for the same rows.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import os
import pickle
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from converters.base import DatasetRoot  # noqa: E402
from converters.imdb_wiki import ImdbWiki  # noqa: E402
from converters.mm_celeba_hq import MmCelebaHq  # noqa: E402
from schemas import FaceRecord, Filtered, Reasons, Reject, Text, attribute_record, stable_split  # noqa: E402

# ---------------------------------------------------------------------------------------------
# a minimal MAT v5 writer (uncompressed) for the benchmark's big struct

MI_INT8, MI_INT32, MI_UINT32, MI_DOUBLE, MI_MATRIX, MI_UTF8 = 1, 5, 6, 9, 14, 16
MX_CELL, MX_STRUCT, MX_CHAR, MX_DOUBLE = 1, 2, 4, 6


def _element(kind: int, payload: bytes) -> bytes:
    return struct.pack("<II", kind, len(payload)) + payload + b"\0" * (-len(payload) % 8)


def _matrix(cls: int, dims: tuple[int, ...], data: bytes, name: bytes = b"") -> bytes:
    body = (_element(MI_UINT32, struct.pack("<II", cls, 0)) + _element(MI_INT32, struct.pack(f"<{len(dims)}i", *dims))
            + _element(MI_INT8, name) + data)
    return struct.pack("<II", MI_MATRIX, len(body)) + body


def _char(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _matrix(MX_CHAR, (1, len(text)) if text else (0, 0), _element(MI_UTF8, raw))


def _doubles(values: np.ndarray, dims: tuple[int, ...]) -> bytes:
    return _matrix(MX_DOUBLE, dims, _element(MI_DOUBLE, np.ascontiguousarray(values, dtype="<f8").tobytes()))


def write_mat(path: Path, name: str, fields: dict[str, object]) -> None:
    """Write ``{name: struct}`` where each field is a float row (ndarray) or a list of str / 1x4 rows (a cell)."""
    parts = []
    for value in fields.values():
        if isinstance(value, np.ndarray):
            parts.append(_doubles(value, (1, len(value))))
        else:
            items = list(value)  # type: ignore[call-overload]
            cells = [_char(v) if isinstance(v, str) else _doubles(np.asarray(v), (1, 4)) for v in items]
            parts.append(_matrix(MX_CELL, (1, len(items)), b"".join(cells)))
    names = b"".join(f.encode().ljust(32, b"\0") for f in fields)
    data = struct.pack("<HHi", MI_INT32, 4, 32) + _element(MI_INT8, names) + b"".join(parts)
    header = b"MATLAB 5.0 MAT-file, written by bench_converters_caption.py".ljust(116, b" ") + b"\0" * 8
    with open(path, "wb") as f:
        f.write(header + struct.pack("<H", 0x0100) + b"IM")
        f.write(_matrix(MX_STRUCT, (1, 1), data, name.encode()))


def savemat_fields(fields: dict[str, object]) -> dict[str, object]:
    """The same fields as ``scipy.io.savemat`` takes them (cells as object arrays)."""
    out: dict[str, object] = {}
    for key, value in fields.items():
        if isinstance(value, np.ndarray):
            out[key] = value.reshape(1, -1)
        else:
            items = list(value)  # type: ignore[call-overload]
            cell = np.empty((1, len(items)), dtype=object)
            for i, v in enumerate(items):
                cell[0, i] = (np.array([v]) if v else np.array([], dtype="<U1")) if isinstance(v, str) else np.asarray(v).reshape(1, 4)
            out[key] = cell
    return out


# ---------------------------------------------------------------------------------------------
# generated data

def imdb_fields(n: int, seed: int = 0) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    persons = rng.integers(1, 20_000, n)
    birth = rng.integers(datetime.date(1900, 1, 1).toordinal(), datetime.date(1995, 12, 31).toordinal(), n)
    dob = birth + 366 + rng.choice([0.0, 0.5], n, p=[0.95, 0.05])
    taken = rng.integers(1960, 2016, n).astype(np.float64)
    gender = rng.choice([1.0, 0.0, np.nan], n, p=[0.58, 0.40, 0.02])
    face = np.where(rng.random(n) < 0.15, -np.inf, rng.normal(2.5, 1.0, n))
    second = np.where(rng.random(n) < 0.2, rng.normal(1.5, 0.5, n), np.nan)
    dates = [datetime.date.fromordinal(int(b)) for b in birth[:: max(1, n // 1000)]]  # a few real-looking names
    paths = [f"{p % 100:02d}/nm{p:07d}_rm{i}_{dates[i % len(dates)].year}-{dates[i % len(dates)].month}-1_{int(t)}.jpg"
             for i, (p, t) in enumerate(zip(persons.tolist(), taken.tolist()))]
    names = ["" if i % 50 == 0 else f"Person {p}" for i, p in enumerate(persons.tolist())]
    boxes = [[111.3, 111.3, 252.7, 252.7]] * n
    return {"dob": dob, "photo_taken": taken, "full_path": paths, "gender": gender, "name": names,
            "face_location": boxes, "face_score": face, "second_face_score": second}


def self_check(tmp: Path) -> None:
    """loadmat reads the fast writer's file exactly as it reads savemat's."""
    fields = imdb_fields(40, seed=1)
    write_mat(tmp / "fast.mat", "imdb", fields)
    scipy.io.savemat(tmp / "slow.mat", {"imdb": savemat_fields(fields)})
    fast, slow = (scipy.io.loadmat(tmp / f)["imdb"][0, 0] for f in ("fast.mat", "slow.mat"))
    assert fast.dtype.names == slow.dtype.names
    for key in fast.dtype.names:
        a, b = fast[key], slow[key]
        assert a.shape == b.shape and a.dtype == b.dtype, (key, a.shape, b.shape, a.dtype, b.dtype)
        for x, y in zip(a.reshape(-1), b.reshape(-1)):
            x, y = np.asarray(x), np.asarray(y)
            same = np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
            assert same and x.shape == y.shape and x.dtype == y.dtype, (key, x, y)


class ListedRoot(DatasetRoot):
    """A DatasetRoot whose image folders' listings are given: the text-only path, no image files."""

    def __init__(self, url: str, name: str, listed: dict[str, frozenset[str]]) -> None:
        super().__init__(url, name)
        self.listed = listed

    def listing(self, rel: str = "") -> frozenset[str]:
        return self.listed[rel] if rel in self.listed else super().listing(rel)


# ---------------------------------------------------------------------------------------------
# the straightforward implementations

def baseline_imdb(root: DatasetRoot, s: np.void, subset: str, mat_rel: str, folder: str) -> list[object]:
    """IMDB-WIKI the obvious way: a DataFrame of the columns and one pass of row-by-row Python."""
    df = pd.DataFrame({
        "dob": s["dob"][0], "photo_taken": s["photo_taken"][0], "gender": s["gender"][0],
        "face_score": s["face_score"][0], "second_face_score": s["second_face_score"][0],
        "full_path": [c[0] if c.size else "" for c in s["full_path"][0]],
    })
    on_disk = root.listing(folder)
    out: list[object] = []
    for row in df.itertuples():
        sid = f"{folder}/{row.full_path}"
        path = root.source_path(sid)
        if np.isnan(row.face_score) or row.face_score == -np.inf:
            out.append(Filtered("imdb_wiki", sid, path, "no face"))
            continue
        if not np.isnan(row.second_face_score):
            out.append(Filtered("imdb_wiki", sid, path, "several faces"))
            continue
        if int(row.dob) - 366 < 1:
            out.append(Filtered("imdb_wiki", sid, path, "implausible age"))
            continue
        birth = datetime.date.fromordinal(int(row.dob) - 366)
        age = int(row.photo_taken) - birth.year - (1 if birth.month >= 7 else 0)
        if not 0 <= age <= 100:
            out.append(Filtered("imdb_wiki", sid, path, "implausible age"))
            continue
        labels: dict[str, int | str] = {"age": age}
        if not np.isnan(row.gender):
            labels["gender"] = "male" if row.gender == 1 else "female"
        if sid not in on_disk:
            out.append(Reject("imdb_wiki", sid, path, Reasons.IMAGE_MISSING))
            continue
        person = row.full_path.rsplit("/", 1)[-1].split("_")[0]
        out.append(attribute_record(dataset="imdb_wiki", prefix=subset, source_id=sid, image=root.url_of(sid),
                                    source_path=path, split=stable_split(person), labels=labels))
    return out


def baseline_mm(folder: Path, image_names: frozenset[str]) -> list[object]:
    """MM-CelebA-HQ the obvious way: os.listdir, open, readlines (pickles are our own, trusted files here)."""
    split_of = {}
    for split in ("train", "test"):
        with open(folder / split / "filenames.pickle", "rb") as f:
            for name in pickle.load(f):
                split_of[name] = split
    text_dir = folder / "text" / "celeba-caption"
    out: list[object] = []
    for file in sorted(os.listdir(text_dir), key=lambda n: int(n.split(".")[0])):
        idx = file[:-4]
        with open(text_dir / file, encoding="utf-8") as f:
            lines = [" ".join(line.split()) for line in f.readlines()]
        lines = [line for line in lines if line]
        rel = f"text/celeba-caption/{file}"
        if not lines:
            out.append(Filtered("mm_celeba_hq", idx, f"mm_celeba_hq/{rel}", "no caption"))
        elif idx not in split_of:
            out.append(Reject("mm_celeba_hq", idx, f"mm_celeba_hq/{rel}", Reasons.NO_SPLIT))
        elif f"image/{idx}.jpg" not in image_names:
            out.append(Reject("mm_celeba_hq", idx, f"mm_celeba_hq/image/{idx}.jpg", Reasons.IMAGE_MISSING))
        else:
            out.append(FaceRecord("mm_celeba_hq", idx, str(folder / "image" / f"{idx}.jpg"), f"mm_celeba_hq/image/{idx}.jpg",
                                  split_of[idx], {}, tuple(Text("caption", line) for line in lines)))
    return out


def essentials(outcomes: list[object]) -> list[tuple]:
    """What both implementations must agree on (detail strings may differ)."""
    out: list[tuple] = []
    for o in outcomes:
        if isinstance(o, FaceRecord):
            out.append(("record", o.source_id, o.image, o.source_path, o.split, dict(o.labels), o.texts))
        else:
            out.append((type(o).__name__, o.source_id, o.reason))  # type: ignore[attr-defined]
    return out


# ---------------------------------------------------------------------------------------------

WALL: list[str] = []


def timed(fn, *args):  # type: ignore[no-untyped-def]
    """``fn(*args)`` and the CPU seconds it took (this process); wall seconds are noted for the footer."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn(*args)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    WALL.append(f"{getattr(fn, '__name__', 'step')}: {wall:.2f} s wall / {cpu:.2f} s CPU")
    return result, cpu


def ours_imdb(root: DatasetRoot, struct: np.void) -> list[object]:
    return list(ImdbWiki().convert_struct(root, "imdb", "imdb_crop/imdb.mat", "imdb_crop", struct))


def ours_mm(root: DatasetRoot) -> list[object]:
    return list(MmCelebaHq().records(root))


def bench_imdb(tmp: Path, n: int) -> list[tuple[str, int, float, float]]:
    folder = tmp / "imdb_wiki"
    (folder / "imdb_crop").mkdir(parents=True)
    fields, t_gen = timed(imdb_fields, n)
    _, t_write = timed(write_mat, folder / "imdb_crop" / "imdb.mat", "imdb", fields)
    listed = frozenset(f"imdb_crop/{p}" for p in fields["full_path"])  # type: ignore[attr-defined]
    root = ListedRoot(str(folder), "imdb_wiki", {"imdb_crop": listed})
    print(f"imdb.mat: {n:,} rows generated in {t_gen:.1f} s, written in {t_write:.1f} s "
          f"({(folder / 'imdb_crop' / 'imdb.mat').stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
    mat, t_load = timed(scipy.io.loadmat, str(folder / "imdb_crop" / "imdb.mat"))
    struct = mat["imdb"][0, 0]
    ours, t_ours = timed(ours_imdb, root, struct)
    base, t_base = timed(baseline_imdb, root, struct, "imdb", "imdb_crop/imdb.mat", "imdb_crop")
    assert essentials(ours) == essentials(base), "the two IMDB-WIKI implementations disagree"
    print(f"imdb_wiki outcomes: {dict(collections.Counter(type(o).__name__ for o in ours))}", file=sys.stderr)
    return [
        ("imdb_wiki: scipy.io.loadmat (shared by both)", len(ours), t_load, t_load),
        ("imdb_wiki: conversion from the loaded struct", len(ours), t_ours, t_base),
        ("imdb_wiki: end to end (loadmat + conversion)", len(ours), t_load + t_ours, t_load + t_base),
    ]


def bench_mm(tmp: Path, n: int) -> list[tuple[str, int, float, float]]:
    folder = tmp / "mm_celeba_hq"
    text_dir = folder / "text" / "celeba-caption"
    text_dir.mkdir(parents=True)
    line = "She wears heavy makeup. She has mouth slightly open. She is smiling, and attractive."
    for i in range(n):  # every 997th file empty: filtered
        (text_dir / f"{i}.txt").write_text("".join(f"{line} {i} {k}\n" for k in range(10)) if i % 997 else "\n")
    ids = [str(i) for i in range(n)]
    for split, names in (("train", ids[: int(0.9 * n)]), ("test", ids[int(0.9 * n) + 3:])):  # 3 in no split
        (folder / split).mkdir()
        (folder / split / "filenames.pickle").write_bytes(pickle.dumps(names, protocol=2))
    images = frozenset(f"image/{i}.jpg" for i in range(n) if i % 1009)  # every 1009th image missing
    ours, t_ours = timed(ours_mm, ListedRoot(str(folder), "mm_celeba_hq", {"image": images}))
    base, t_base = timed(baseline_mm, folder, images)
    assert essentials(ours) == essentials(base), "the two MM-CelebA-HQ implementations disagree"
    return [("mm_celeba_hq: 10-line caption files, end to end", len(ours), t_ours, t_base)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=500_000, help="rows of the generated imdb.mat")
    parser.add_argument("--captions", type=int, default=30_000, help="MM-CelebA-HQ caption files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-captions-") as tmp_name:
        tmp = Path(tmp_name)
        self_check(tmp)
        rows = bench_imdb(tmp, args.rows) + bench_mm(tmp, args.captions)
    print("\n| step | records | ours (CPU s) | ours records/s | straightforward (CPU s) | straightforward records/s | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for step, count, mine, theirs in rows:
        print(f"| {step} | {count:,} | {mine:.2f} | {count / mine:,.0f} | {theirs:.2f} | {count / theirs:,.0f} | "
              f"{theirs / mine:.1f}x |")
    print(f"\nCPU seconds of one process (records/s = per core); Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"scipy {scipy.__version__}, pandas {pd.__version__}; {os.cpu_count()} CPUs visible. Text-only path: image "
          "listings given, no image files. Both implementations give identical outcomes (checked).")
    print("wall clock: " + "; ".join(WALL), file=sys.stderr)


if __name__ == "__main__":
    main()
