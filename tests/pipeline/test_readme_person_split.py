"""README.md's person-disjoint split snippet, extracted from the README and run on a tiny real build."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pyarrow.dataset as ds

from converters.fakes import make_all

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Photo ids, person ids and split policies"
DATASETS = ("celeba", "cacd", "afad")


def snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[: section.index("\n## ", len(SECTION))]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    return code


def test_the_readme_snippet_makes_a_person_disjoint_split(tmp_path, kit):
    make_all(tmp_path / "raw", only=DATASETS)
    out = tmp_path / "out"
    kit.build(tmp_path / "raw", out, datasets=DATASETS, cache="")
    code = snippet()
    assert 'OUT = "/data/talk2face"' in code
    scope: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(code.replace('"/data/talk2face"', repr(str(out))), scope)  # noqa: S102 - our own README
    split_of = scope["split_of"]
    manifest = ds.dataset(str(out / "manifest"), format="parquet").to_table().to_pandas()
    people = manifest.dropna(subset=["person_id"])
    assert set(split_of.index) == set(people["key"])  # every face with a person id, once
    assert set(split_of) <= {"train", "val", "test"} and len(set(split_of)) > 1
    person_splits = people.assign(split=people["key"].map(split_of)).groupby("person_id")["split"].nunique()
    assert (person_splits == 1).all(), person_splits[person_splits > 1]
    assert people["person_id"].nunique() < len(people)  # some person has several faces: the check means something
    assert "train" in printed.getvalue()
