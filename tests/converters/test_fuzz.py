"""Every converter fuzzed: hostile mutations of its fake's native files, never a crash, never a record lost.

Each example copies a dataset's fake (`converters.fakes`), applies 1..3 mutations from
`converters.fuzzing` to its annotation files (truncated lines, other delimiters, fields added, dropped
or replaced by NaN / inf / 5000-digit numbers, bad UTF-8, BOMs, binary garbage, repeated lines and
headers, empty files; JSON values of every type; ``.mat`` columns of other types and shapes; pickles
holding other objects or code payloads) and asserts that the converter

* raises nothing but `ConverterError`, and that only when a dataset-level file is unusable as a whole
  (a line file that is not UTF-8, JSON that is not an array/object, a ``.mat`` column of the wrong type,
  a pickle that is not a plain list of names); a bad line or entry is never one;
* otherwise yields exactly one outcome per entry, entries counted by `converters.fuzzing` without the
  converter's code, with unique, non-empty source ids and valid records.

``make test`` runs ``FUZZ_EXAMPLES`` (default 30) derandomized examples per converter. The long run::

    FUZZ_EXAMPLES=2000 PYTHONPATH=. .venv/bin/python -m pytest tests/converters/test_fuzz.py -n 0 -q

``FUZZ_SHRINK=0`` skips shrinking a failing example (faster, a larger counterexample). ``.mat`` files are
not byte-flipped: scipy's C reader segfaults on a flipped size field, which no converter can catch.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from converters import ConverterError
from converters import fuzzing as fz
from converters.fakes import generator
from converters.testing import convert
from schemas import FaceRecord

Draw = Callable[..., Any]  # hypothesis' draw, from st.data()
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
PHASES = tuple(Phase) if os.environ.get("FUZZ_SHRINK", "1") == "1" else (Phase.explicit, Phase.generate)
MUST_FAIL, MAY_FAIL = "must raise ConverterError", "may raise ConverterError"


@dataclass(frozen=True)
class Target:
    """What to mutate in one dataset's fake, and where its entries are."""

    variant: str | None = None
    counted: tuple[fz.LineFile, ...] = ()  # line files whose lines are the records
    lines: tuple[fz.LineFile, ...] = ()  # other line files (splits, levels): mutated, not counted
    json: tuple[str, ...] = ()  # JSON files whose items are the records
    captions: str | None = None  # folder of one-record-per-file captions
    recursive: bool = False  # caption files in sub-folders count too
    pickles: tuple[str, ...] = ()
    pickles_read: bool = True
    mats: tuple[tuple[str, str], ...] = ()  # (.mat file, struct name) whose rows are the records
    name_field: str = ""  # the struct's cell column of file names
    text_fields: tuple[str, ...] = ()  # the struct's numeric columns
    extra: dict[str, str] = field(default_factory=dict)


TARGETS: dict[str, Target] = {
    "afad": Target(counted=(fz.LineFile("AFAD-Full/AFAD-Full.txt"),)),
    "affectnet": Target(counted=(fz.LineFile("Manually_Annotated_file_lists/training.csv", header=1),
                                 fz.LineFile("Manually_Annotated_file_lists/validation.csv", header=1))),
    "cacd": Target(mats=(("celebrity2000_meta.mat", "celebrityImageData"),), name_field="name",
                   text_fields=("age", "identity")),
    "celeba": Target(counted=(fz.LineFile("Anno/list_attr_celeba.txt", header=2),),
                     lines=(fz.LineFile("Eval/list_eval_partition.txt"),)),
    "celeba_dialog": Target("own", json=("celeba_caption/captions.json",),
                            lines=tuple(fz.LineFile(f) for f in ("train_attr_list.txt", "val_attr_list.txt",
                                                                 "test_attr_list.txt", "combined_annotation.txt"))),
    "celeba_text_hq": Target("own", captions="CelebAText-HQ données/captions",
                             lines=(fz.LineFile("CelebAText-HQ données/data_flist/train.flist", strict=False),
                                    fz.LineFile("CelebAText-HQ données/data_flist/test.flist", strict=False))),
    "expw": Target(counted=(fz.LineFile("label/label.lst"),)),
    "fairface": Target(counted=(fz.LineFile("fairface_label_train.csv", header=1, csv=True, header_required="file,age,gender,race"),
                                fz.LineFile("fairface_label_val.csv", header=1, csv=True, header_required="file,age,gender,race"))),
    "ffhq_text": Target(captions="Text", recursive=True, pickles=("train/filenames.pickle", "test/filenames.pickle"),
                        pickles_read=False),
    "fs2k": Target(json=("anno_train.json", "anno_test.json")),
    "imdb_wiki": Target(mats=(("imdb_crop/imdb.mat", "imdb"), ("wiki_crop/wiki.mat", "wiki")), name_field="full_path",
                        text_fields=("dob", "photo_taken", "gender", "face_score", "second_face_score")),
    "mm_celeba_hq": Target(captions="text/celeba-caption", pickles=("train/filenames.pickle", "test/filenames.pickle")),
    "rafdb": Target(counted=(fz.LineFile("EmoLabel/list_patition_label.txt"),)),
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every dataset's fake, written once; each example works on a copy."""
    root = tmp_path_factory.mktemp("fuzz-pristine")
    for key, target in TARGETS.items():
        make = generator(key).make
        make(root / key) if target.variant is None else make(root / key, variant=target.variant)
    return root


def caption_count(folder: Path, recursive: bool) -> int:
    files = folder.rglob("*") if recursive else folder.iterdir()
    return sum(1 for p in files if p.is_file() and p.name.lower().endswith(".txt"))


# -- one mutation per kind of native file -----------------------------------------------------------
def mutate_mat(draw: Draw, path: Path, struct_name: str, target: Target) -> tuple[str, str | None]:
    """Rewrite a .mat with a damaged struct; returns what was done and the expectation about ConverterError."""
    try:
        mat = scipy.io.loadmat(path)
        struct = mat[struct_name]
        assert struct.dtype.names and target.name_field in struct.dtype.names
    except Exception:  # damaged by an earlier mutation of this example
        return "already damaged", None
    record = struct.reshape(-1)[0]
    fields = {name: record[name] for name in struct.dtype.names}
    rows = np.asarray(fields[target.name_field]).size
    expect: str | None = None
    kinds = draw(st.lists(st.sampled_from(["numbers", "numbers", "names", "names", "strings", "missing field",
                                           "lengths", "not 1x1", "no struct", "bytes"]), min_size=1, max_size=3))
    if "bytes" in kinds:
        data, what = draw(fz.byte_damage(path.read_bytes(), flips=False))
        path.write_bytes(data)
        return f"bytes: {what}", MAY_FAIL
    for kind in kinds:
        if kind == "numbers":
            name = draw(st.sampled_from(target.text_fields))
            if name in fields and np.asarray(fields[name]).dtype.kind in "uifb":
                fields[name], _ = draw(fz.numeric_column(fields[name]))
        elif kind == "names" and target.name_field in fields:
            names = np.asarray(fields[target.name_field], dtype=object).copy()
            for _ in range(draw(st.integers(1, 3))):
                names.flat[draw(st.integers(0, rows - 1))] = draw(fz.name_cell_values())
            fields[target.name_field] = names
        elif kind == "strings":
            name = draw(st.sampled_from(target.text_fields))
            fields[name] = np.array([["x"] * rows], dtype="<U1")
            expect = MUST_FAIL
        elif kind == "missing field":
            fields.pop(draw(st.sampled_from((target.name_field, *target.text_fields))), None)
            expect = MUST_FAIL
        elif kind == "lengths":
            name = draw(st.sampled_from(target.text_fields))
            if name in fields:
                fields[name] = np.zeros((1, rows - 1))
                expect = MUST_FAIL
        elif kind in ("not 1x1", "no struct"):
            expect = MUST_FAIL
    order = list(fields)
    one = np.empty((1, 2) if "not 1x1" in kinds else (1, 1), dtype=[(n, "O") for n in order])
    for cell in one.flat:
        for n in order:
            cell[n] = fields[n]
    variables = {k: v for k, v in mat.items() if not k.startswith("__") and k != struct_name}
    variables["other" if "no struct" in kinds else struct_name] = one
    path.write_bytes(fz.savemat_bytes(variables))
    return ", ".join(kinds), expect


def mutate_pickle(draw: Draw, path: Path, target: Target) -> tuple[str, str | None]:
    names = draw(st.lists(st.sampled_from([str(i) for i in range(12)]), max_size=12, unique=True))
    if draw(st.booleans()):
        data, what = draw(fz.byte_damage(path.read_bytes()))
        path.write_bytes(data)
        return f"bytes: {what}", MAY_FAIL if target.pickles_read else None
    data, what, refuse = draw(fz.hostile_pickle(names))
    path.write_bytes(data)
    return what, MUST_FAIL if refuse and target.pickles_read else None


def mutate(draw: Draw, folder: Path, target: Target) -> tuple[list[str], str | None]:
    """Apply 1..3 mutations; returns what was done and the strongest expectation about ConverterError."""
    choices: list[tuple[str, object]] = [("line", f) for f in (*target.counted, *target.lines)]
    choices += [("json", f) for f in target.json] + [("pickle", f) for f in target.pickles]
    choices += [("mat", m) for m in target.mats]
    if target.captions:
        choices += [("caption", None), ("stray caption", None)]
    done: list[str] = []
    expect: str | None = None
    for _ in range(draw(st.integers(1, 3))):
        if not choices:
            break
        kind, spec = draw(st.sampled_from(choices))
        if kind == "mat":  # several struct mutations are drawn at once: the file is rebuilt from the first
            choices.remove((kind, spec))
        if kind == "line":
            assert isinstance(spec, fz.LineFile)
            path = folder / spec.rel
            data, what = draw(fz.line_mutation(path.read_bytes(), spec.header))
            path.write_bytes(data)
            done.append(f"{spec.rel}: {what}")
        elif kind == "json":
            path = folder / str(spec)
            data, what = draw(fz.json_mutation(path.read_bytes()))
            path.write_bytes(data)
            done.append(f"{spec}: {what}")
        elif kind == "pickle":
            what, flag = mutate_pickle(draw, folder / str(spec), target)
            expect = expect or flag
            done.append(f"{spec}: {what}")
        elif kind == "mat":
            assert isinstance(spec, tuple)
            what, flag = mutate_mat(draw, folder / spec[0], spec[1], target)
            expect = MUST_FAIL if MUST_FAIL in (expect, flag) else expect or flag
            done.append(f"{spec[0]}: {what}")
        elif kind == "caption":
            assert target.captions
            files = sorted(p for p in (folder / target.captions).rglob("*.txt"))
            path = draw(st.sampled_from(files))
            data, what = draw(fz.caption_mutation(path.read_bytes()))
            path.write_bytes(data)
            done.append(f"{path.name}: {what}")
        else:
            assert target.captions
            name = draw(st.sampled_from(["abc.txt", "0003.txt", "٣.txt", "9" * 200 + ".txt", "-1.txt", "x.TXT", " 4.txt"]))
            (folder / target.captions / name).write_bytes(draw(st.sampled_from(fz.CAPTION_DAMAGE)))
            done.append(f"stray caption file {name[:20]}")
    return done, expect


def mat_rows(path: Path, struct_name: str, name_field: str) -> int | None:
    """Rows of a .mat struct as written: the size of its file-name column; None when there is none to read."""
    try:
        struct = scipy.io.loadmat(path)[struct_name]
        return int(np.asarray(struct.reshape(-1)[0][name_field]).size)
    except Exception:  # damaged bytes: whatever scipy raises, there are no rows to count
        return None


def expected_entries(folder: Path, target: Target) -> int | None:
    """The number of entries the mutated files hold, or None when a counted file is unusable."""
    total = 0
    for spec in target.counted:
        n = fz.count_lines((folder / spec.rel).read_bytes(), spec)
        if n is None:
            return None
        total += n
    for rel in target.json:
        n = fz.count_json((folder / rel).read_bytes())
        if n is None:
            return None
        total += n
    if target.captions:
        total += caption_count(folder / target.captions, target.recursive)
    for rel, struct_name in target.mats:
        n = mat_rows(folder / rel, struct_name, target.name_field)
        if n is None:
            return None
        total += n
    return total


def unusable_line_file(folder: Path, target: Target) -> bool:
    return any(spec.strict and fz.text_lines((folder / spec.rel).read_bytes()) is None for spec in target.lines)


@pytest.mark.parametrize("key", sorted(TARGETS))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(data=st.data())
def test_fuzzed_native_files(pristine: Path, key: str, data: st.DataObject) -> None:
    target = TARGETS[key]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(pristine / key, root / key)
        folder = root / key
        done, expect = mutate(data.draw, folder, target)
        note(f"mutations: {done}")
        expected = expected_entries(folder, target)
        if expected is None or unusable_line_file(folder, target):
            expect = MUST_FAIL
        try:
            outcomes = convert(key, root)
        except ConverterError as err:
            assert expect is not None, f"ConverterError on a usable dataset ({done}): {err}"
            return
        assert expect != MUST_FAIL, f"no ConverterError for an unusable file ({done})"
        assert expected is not None
        assert len(outcomes) == expected, f"{len(outcomes)} outcomes for {expected} entries after {done}"
        ids = [o.source_id for o in outcomes]
        assert all(ids) and len(ids) == len(set(ids)), f"empty or repeated source ids after {done}"
        for outcome in outcomes:
            assert outcome.dataset == key and outcome.source_path.startswith(key)
            if isinstance(outcome, FaceRecord):
                outcome.validate()
                numbers = [v for v in outcome.labels.values() if isinstance(v, float)]
                numbers += outcome.box.as_list() if outcome.box is not None else []
                assert all(math.isfinite(v) for v in numbers), f"{outcome} has a number that is not finite after {done}"
