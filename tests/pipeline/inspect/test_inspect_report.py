"""The HTML report is one self-contained page."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_fixtures import (
    run,
)


def test_report_is_self_contained(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.html"
    status, out, err = run(capsys, str(corpus), "--report", str(report), "--n", "4")
    assert status == 0, err
    page = report.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert "<svg" in page and "data:image/png;base64," in page and "east asian" in page and "codes used" in page
