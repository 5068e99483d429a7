"""Showing samples: manifest filters and the text blocks of `talk2face inspect OUT --show N`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_fixtures import (
    face,
    run,
)


def test_show_filters(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, str(corpus), "--show", "2", "--dataset", "cacd", "--json")
    views = json.loads(out)
    assert status == 0 and len(views) == 2
    assert all(t["dataset"] == "cacd" for v in views for t in v["texts"])
    status, out, _ = run(capsys, str(corpus), "--show", "5", "--grep", "BEARD")
    assert status == 0 and out.count("split train") == 1 and out.count("split test") == 1
    assert "[celeba_dialog caption]" in out and "[mm_celeba_hq caption] A young man with a beard." in out
    assert 'labels celeba_dialog 20: {"beard": 4, "smiling": 0}' in out
    key = face(9)[0]
    status, out, _ = run(capsys, str(corpus), "--show", "3", "--key", key[:10], "--split", "test")
    assert status == 0 and out.startswith(f"{key}  split test  shard test-000000.tar")
    status, out, _ = run(capsys, str(corpus), "--show", "3", "--grep", "no such text")
    assert status == 0 and "no sample matches" in out
