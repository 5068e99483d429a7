"""Conversion speed of the FS2K, AffectNet, RAF-DB, ExpW, CACD and AFAD converters, label -> text.

For each dataset a label file of realistic size is generated in its native format (ExpW 100k face
lines, AFAD 160k list lines, CACD a 163,446-row ``.mat``, ...), and the converter runs over it with
the image listing stubbed: `ListedRoot.listing` returns the set of image paths the real listing
would hold, so the image-presence check still happens (a set lookup) but no image is written or
listed. What is timed is the text-only path: read and parse the native file, check, build every
`FaceRecord` / `Filtered` / `Reject`. The same run times a straightforward pandas (or plain loop)
version of the same conversion and checks that both give the same outcomes.

    .venv/bin/python bench/bench_converters_attr.py            # realistic sizes
    .venv/bin/python bench/bench_converters_attr.py --scale 0.1

One process, one thread, timed in CPU seconds (`time.process_time`), so records/s is per core and
time spent waiting for a busy CPU is not counted (a loaded machine still slows the work itself: the
last line prints a yardstick to compare runs by). Label-file generation is not timed. Prints a
markdown table.
"""

from __future__ import annotations

import argparse
import io
import json
import posixpath
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

import converters
from converters import afad, affectnet, cacd, expw, fs2k, rafdb
from converters.base import DatasetRoot, Outcome
from converters.fakes.cacd import meta_bytes
from schemas import Box, FaceRecord, Filtered, LabelValue, Reject, attribute_record, stable_split

SIZES = {"fs2k": 2_104, "affectnet": 60_000, "rafdb": 15_339, "expw": 100_000, "cacd": 163_446, "afad": 160_000}


class ListedRoot(DatasetRoot):
    """A dataset root whose image listing is given, not read from disk (the label files are real)."""

    def __init__(self, url: str, name: str, files: frozenset[str]) -> None:
        super().__init__(url, name)
        self._files = files

    def listing(self, rel: str = "") -> frozenset[str]:
        return self._files


# -- generators: native label files of realistic size, and the image paths they name ---------------
def make_fs2k(folder: Path, n: int, rng: np.random.Generator) -> frozenset[str]:
    files: set[str] = set()
    tables: dict[str, list[dict]] = {"anno_train.json": [], "anno_test.json": []}
    for i in range(n):
        name = f"photo{1 + i % 3}/image{i:04d}"
        files.add(f"photo/{name}{'.png' if i % 3 == 1 else '.jpg'}")
        lip = [float(v) for v in rng.uniform(40, 230, 3)] if i % 97 else [float("nan")] * 3
        tables["anno_train.json" if i % 2 else "anno_test.json"].append({
            "image_name": name, "skin_color": [163, 139], "lip_color": lip, "eye_color": [float(v) for v in rng.uniform(20, 200, 3)],
            "hair": int(i % 11 == 0), "hair_color": int(rng.integers(0, 5)), "gender": i % 2, "earring": i % 3 % 2,
            "smile": i % 5 % 2, "frontal_face": i % 7 % 2, "style": i % 3,
        })
    for file, table in tables.items():
        (folder / file).write_text(json.dumps(table))
    return frozenset(files)


def make_affectnet(folder: Path, n: int, rng: np.random.Generator) -> frozenset[str]:
    (folder / "Manually_Annotated_file_lists").mkdir(parents=True)
    landmarks = ";".join(f"{v:.2f}" for v in rng.uniform(0, 900, 136))  # one string: generation speed
    files = set()
    for file, first, end in (("training.csv", 0, n - n // 75), ("validation.csv", n - n // 75, n)):
        lines = [",".join(affectnet.HEADER)]
        for i in range(first, end):
            path = f"{i % 1000}/{i:056x}.jpg"
            files.add(f"Manually_Annotated_Images/{path}")
            expression = int(rng.integers(0, 11))
            va = "-2,-2" if expression > 7 else f"{rng.uniform(-1, 1):.6f},{rng.uniform(-1, 1):.6f}"
            lines.append(f"{path},134,134,899,899,{landmarks},{expression},{va}")
        (folder / "Manually_Annotated_file_lists" / file).write_text("\n".join(lines) + "\n")
    return frozenset(files)


def make_rafdb(folder: Path, n: int, rng: np.random.Generator) -> frozenset[str]:
    (folder / "EmoLabel").mkdir(parents=True)
    names = [f"train_{i:05d}.jpg" for i in range(1, n * 4 // 5 + 1)] + [f"test_{i:04d}.jpg" for i in range(1, n - n * 4 // 5 + 1)]
    (folder / "EmoLabel" / "list_patition_label.txt").write_text("".join(f"{m} {rng.integers(1, 8)}\n" for m in names))
    return frozenset(f"Image/aligned/{rafdb.aligned_name(m)}" for m in names)


def make_expw(folder: Path, n: int, rng: np.random.Generator) -> frozenset[str]:
    (folder / "label").mkdir(parents=True)
    lines, files = [], set()
    for i in range(n):
        name = f"{('angry', 'happy', 'sad', 'afraid')[i % 4]}_actor_{i // 2}.jpg"
        files.add(f"image/origin/{name}")
        top, left = (int(v) for v in rng.integers(0, 300, 2))
        side = int(rng.integers(40, 300))
        lines.append(f"{name} {i % 2} {top} {left} {left + side} {top + side} {rng.uniform(1, 100):.4f} {rng.integers(0, 7)}")
        if i % 500 == 0:
            lines.append(lines[-1])  # an exact duplicate now and then
    (folder / "label" / "label.lst").write_text("\n".join(lines[:n]) + "\n")
    return frozenset(files)


def make_cacd(folder: Path, n: int, rng: np.random.Generator) -> frozenset[str]:
    rows = []
    for i in range(n):
        identity = 1 + i * 2000 // n
        birth = 1940 + identity % 50
        year = 2004 + i % 10
        rows.append((f"{year - birth}_Person_{identity}_{i % 100 + 1:04d}.jpg", year - birth, identity, year, birth, 1 + identity % 50, identity % 2))
    (folder / cacd.META_FILE).write_bytes(meta_bytes(rows=rows))
    return frozenset(f"{cacd.IMAGE_FOLDER}/{r[0]}" for r in rows)


def make_afad(folder: Path, n: int, rng: np.random.Generator) -> frozenset[str]:
    paths = sorted({f"{rng.integers(15, 73)}/{rng.choice(['111', '112'])}/{rng.integers(10000, 700000)}-{rng.integers(0, 12)}.jpg"
                    for _ in range(n)})
    (folder / afad.LIST_FILE).write_text("".join(f"./{p}\n" for p in paths))
    return frozenset(paths)


MAKERS: dict[str, Callable[[Path, int, np.random.Generator], frozenset[str]]] = {
    "fs2k": make_fs2k, "affectnet": make_affectnet, "rafdb": make_rafdb, "expw": make_expw, "cacd": make_cacd, "afad": make_afad,
}


# -- baselines: the same conversion written the straightforward way (pandas / a plain loop) ---------
def baseline_fs2k(root: DatasetRoot) -> Iterator[Outcome]:
    by_stem = {posixpath.splitext(p)[0].lower(): p for p in sorted(root.listing(), reverse=True)}
    for split, rel in fs2k.LABEL_FILES.items():
        df = pd.read_json(io.StringIO(root.read_text(rel)), orient="records")
        for row in df.to_dict("records"):
            labels: dict[str, LabelValue] = {key: values[row[field]] for field, key, values in fs2k.CODED}
            labels["style"] = int(row["style"])
            for field, key in fs2k.COLOURS:
                value = row[field]
                if isinstance(value, list) and len(value) == 3 and not any(v is None or v != v for v in value):
                    rgb = np.array(value)
                    labels[key] = fs2k._TABLE_NAMES[int(((fs2k._TABLE_RGB - rgb) ** 2).sum(axis=1).argmin())]
            image = by_stem[f"photo/{row['image_name']}".lower()]
            yield attribute_record(dataset="fs2k", prefix="fs2k", source_id=row["image_name"], image=root.url_of(image),
                                   source_path=root.source_path(image), split=split, labels=labels)


def baseline_affectnet(root: DatasetRoot) -> Iterator[Outcome]:
    on_disk = root.listing()
    for split, rel in affectnet.LABEL_FILES.items():
        df = pd.read_csv(root.url_of(rel))
        for row in df.itertuples(index=False):
            path = row.subDirectory_filePath
            image = f"Manually_Annotated_Images/{path}"
            if row.expression in affectnet.FILTERED:
                yield Filtered("affectnet", path, root.source_path(image), affectnet.FILTERED[row.expression],
                               f"{rel} line ?: expression {row.expression}")
                continue
            assert image in on_disk
            labels: dict = {"expression": affectnet.EXPRESSIONS[row.expression].lower()}
            for name in ("valence", "arousal"):
                value = getattr(row, name)
                if value != -2:
                    labels[name] = round(float(value), 2) + 0.0
            yield attribute_record(dataset="affectnet", prefix="affectnet", source_id=path, image=root.url_of(image),
                                   source_path=root.source_path(image), split=split, labels=labels,
                                   box=Box.from_xywh(row.face_x, row.face_y, row.face_width, row.face_height))


def baseline_rafdb(root: DatasetRoot) -> Iterator[Outcome]:
    on_disk = root.listing()
    df = pd.read_csv(root.url_of(rafdb.LABEL_FILES[0]), sep=" ", header=None, names=["name", "label"])
    for row in df.itertuples(index=False):
        image = f"Image/aligned/{rafdb.aligned_name(row.name)}"
        assert image in on_disk
        yield attribute_record(dataset="rafdb", prefix="rafdb", source_id=row.name, image=root.url_of(image),
                               source_path=root.source_path(image), split=row.name.split("_")[0],
                               labels={"expression": rafdb.EXPRESSIONS[row.label].lower()})


def baseline_expw(root: DatasetRoot) -> Iterator[Outcome]:
    on_disk = root.listing()
    df = pd.read_csv(root.url_of(expw.LABEL_FILES[0]), sep=" ", header=None, names=list(expw.COLUMNS))
    duplicated = df.duplicated().to_numpy()
    for number, (row, dup) in enumerate(zip(df.itertuples(index=False), duplicated), start=1):
        source_id, image = f"{row.image_name}#{row.face_id_in_image}", f"image/origin/{row.image_name}"
        if dup:
            yield Filtered("expw", f"{source_id} line {number}", root.source_path(image), "duplicate", "")
            continue
        assert image in on_disk
        yield attribute_record(dataset="expw", prefix="expw", source_id=source_id, image=root.url_of(image),
                               source_path=root.source_path(image), split=stable_split(row.image_name),
                               labels={"expression": expw.EXPRESSIONS[row.expression_label]},
                               box=Box(row.face_box_left, row.face_box_top, row.face_box_right, row.face_box_bottom))


def baseline_cacd(root: DatasetRoot) -> Iterator[Outcome]:
    on_disk = root.listing()
    d = scipy.io.loadmat(root.url_of(cacd.META_FILE))["celebrityImageData"][0][0]
    for i in range(len(d["name"])):
        name = str(d["name"][i][0][0])
        image = f"CACD2000/{name}"
        assert image in on_disk
        yield attribute_record(dataset="cacd", prefix="cacd", source_id=name, image=root.url_of(image),
                               source_path=root.source_path(image), split=stable_split(str(int(d["identity"][i][0]))),
                               labels={"age": int(d["age"][i][0])})


def baseline_afad(root: DatasetRoot) -> Iterator[Outcome]:
    on_disk = root.listing()
    df = pd.read_csv(root.url_of(afad.LIST_FILE), header=None, names=["path"])
    parts = df["path"].str[2:].str.split("/", expand=True)
    for path, age, gender, name in zip(df["path"].str[2:], parts[0], parts[1], parts[2]):
        assert path in on_disk
        yield attribute_record(dataset="afad", prefix="afad", source_id=path, image=root.url_of(path),
                               source_path=root.source_path(path), split=stable_split(name.split("-")[0]),
                               labels={"age": int(age), "gender": afad.GENDERS[gender]})


BASELINES: dict[str, Callable[[DatasetRoot], Iterator[Outcome]]] = {
    "fs2k": baseline_fs2k, "affectnet": baseline_affectnet, "rafdb": baseline_rafdb, "expw": baseline_expw,
    "cacd": baseline_cacd, "afad": baseline_afad,
}


def _summary(outcomes: list[Outcome]) -> list[tuple]:
    """What must agree between the converter and the baseline (details aside)."""
    rows: list[tuple] = []
    for o in outcomes:
        if isinstance(o, FaceRecord):
            rows.append((o.source_id, o.split, o.texts, o.box))
        elif isinstance(o, Filtered | Reject):
            rows.append((o.source_id, o.reason))
    return sorted(rows, key=repr)


def _best_of(fn: Callable[[], list[Outcome]], repeat: int) -> tuple[float, list[Outcome]]:
    best, out = float("inf"), []
    for _ in range(repeat):
        start = time.process_time()  # CPU time of this process: records/s per core, whatever else runs
        out = fn()
        best = min(best, time.process_time() - start)
    return best, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the realistic sizes (0.1 for a quick run)")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    parser.add_argument("--only", nargs="*", default=list(SIZES), choices=list(SIZES))
    args = parser.parse_args(argv)
    print("| dataset | records | this converter (records/s) | pandas / loop baseline (records/s) | speed-up | same outcomes |")
    print("|---|---:|---:|---:|---:|---|")
    for key in args.only:
        n = max(10, int(SIZES[key] * args.scale))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / key
            folder.mkdir()
            files = MAKERS[key](folder, n, np.random.default_rng(0))
            root = ListedRoot(str(folder), key, files)
            converter = converters.get(key)
            ours_s, ours = _best_of(lambda: list(converter.records(root)), args.repeat)  # noqa: B023
            base_s, base = _best_of(lambda: list(BASELINES[key](root)), args.repeat)  # noqa: B023
        same = "yes" if _summary(ours) == _summary(base) else "NO"
        count = len(ours)
        print(f"| {key} | {count:,} | {count / ours_s:,.0f} | {count / base_s:,.0f} | {base_s / ours_s:.1f}x | {same} |", flush=True)
    print(f"\nMachine speed: {_loop_ns():.0f} ns CPU per empty Python loop step "
          "(about 10-20 on an idle modern core; records/s scale inversely with it).")


def _loop_ns(steps: int = 2_000_000) -> float:
    """CPU nanoseconds per step of an empty Python loop: a yardstick for comparing runs on other machines."""
    start = time.process_time()
    for _ in range(steps):
        pass
    return (time.process_time() - start) / steps * 1e9


if __name__ == "__main__":
    main()
