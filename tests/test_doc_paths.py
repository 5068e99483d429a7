"""Every repository path the docs name (README.md, ARCHITECTURE.md, docs/*.md) exists, so they cannot drift.

A path counts when its first folder is one of the repository's own top-level folders
(``pipeline/inspect/report.py``, ``docs/RUNNING.md``); outputs (``OUT/...``, ``demo/...``) and
URLs are not. The README's example converter (``mydata``) is what a reader is told to create.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", REPO / "ARCHITECTURE.md", *(REPO / "docs").glob("*.md")])
EXAMPLE_KEY = "mydata"  # README "Adding a dataset converter": the files a new converter adds
PATH = re.compile(r"(?<![\w/.:-])((?:[A-Za-z_][\w.-]*/)+[\w.-]*\w)(?![\w.-]*<)")  # not a template: test_<key>.py


def named_paths(text: str, folders: set[str]) -> list[str]:
    """The repository paths in `text`: slash-separated names whose first folder is a top-level one."""
    found = []
    for match in PATH.finditer(text):
        path = match.group(1)
        if path.split("/", 1)[0] in folders and EXAMPLE_KEY not in path:
            found.append(path)
    return found


def top_folders() -> set[str]:
    return {p.name for p in REPO.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "demo"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_a_doc_names_exists(doc: Path) -> None:
    paths = named_paths(doc.read_text(encoding="utf-8"), top_folders())
    missing = sorted({p for p in paths if not (REPO / p).exists()})
    assert missing == [], f"{doc.name} names paths that do not exist: {missing}"


def test_the_path_finder_sees_paths_and_skips_outputs() -> None:
    text = "see `pipeline/inspect/nope.py`, OUT/stats.json, gs://bucket/model/x, converters/mydata.py, tests/converters/test_<key>.py and model/"
    assert named_paths(text, {"pipeline", "model", "converters"}) == ["pipeline/inspect/nope.py"]
    assert any(named_paths(doc.read_text(encoding="utf-8"), top_folders()) for doc in DOCS)
