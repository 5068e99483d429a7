"""`talk2face inspect OUT --validate` and `--sheet` over hostile shards: problems named, no traceback, nothing written."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from inspect_fixtures import run

sys.path.insert(0, str(Path(__file__).parents[2] / "schemas"))
from hostile_tars import escape_paths, hostile_cases  # noqa: E402

CASES = [case for case, _, _ in hostile_cases(Path("/unused"))]


@pytest.mark.parametrize("case", CASES)
def test_validate_names_shard_and_member_of_each_hostile_tar(
    corpus: Path, tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work, temp = tmp_path / "work", tmp_path / "temp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    data, words = next((d, w) for c, d, w in hostile_cases(tmp_path) if c == case)
    (corpus / "shards" / "train-000000.tar").write_bytes(data)
    status, out, err = run(capsys, str(corpus), "--validate", "--max-problems", "500")
    assert status != 0 and "Traceback" not in err
    assert "train-000000.tar" in out + err
    assert words[0] in out + err, out + err
    status, out, err = run(capsys, str(corpus), "--sheet", str(tmp_path / "sheet.png"), "--n", "64")
    assert "Traceback" not in err
    assert os.listdir(work) == [] and os.listdir(temp) == []
    assert not any(p.exists() for p in escape_paths(tmp_path))
