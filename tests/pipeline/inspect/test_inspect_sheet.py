"""The contact sheet: its size, stored JPEGs or decoded tokens, and the decoder options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from inspect_fixtures import (
    build_corpus,
    run,
)
from PIL import Image

from pipeline.inspect.corpus import InspectError, load_manifest, open_corpus
from pipeline.inspect.sheet import SHEET_THUMB, contact_sheet, sheet_size


def test_sheet_png_size(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "sheet.png"
    status, out, err = run(capsys, str(corpus), "--sheet", str(png), "--n", "5", "--columns", "3")
    assert status == 0, err
    with Image.open(png) as image:
        assert image.size == sheet_size(5, 3) == (3 * (SHEET_THUMB + 12), 2 * (SHEET_THUMB + 12 + 78))
    status, out, _ = run(capsys, str(corpus), "--sheet", str(png), "--dataset", "cacd", "--json")
    info = json.loads(out)
    assert len(info["keys"]) == 4 and info["size"] == list(sheet_size(4, 8))


def test_sheet_decodes_tokens_without_jpegs(tmp_path: Path) -> None:
    corpus = open_corpus(str(build_corpus(tmp_path, jpg=False)))
    table = load_manifest(corpus)
    calls = []

    def decode(codes: np.ndarray) -> np.ndarray:
        calls.append(codes.shape)
        assert codes.dtype == np.uint16
        return np.full((len(codes), 256, 256, 3), 128, np.uint8)

    sheet, keys = contact_sheet(corpus, table, n=3, decode=decode)
    assert calls == [(3, 256)] and len(keys) == 3 and sheet.size == sheet_size(3)
    with pytest.raises(InspectError, match="keeps no JPEGs"):
        contact_sheet(corpus, table, n=3)


def test_sheet_decoder_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = build_corpus(tmp_path, jpg=False)
    status, _, err = run(capsys, str(out), "--sheet", str(tmp_path / "s.png"), "--vqgan-config", "project.yaml")
    assert status == 2 and "--vqgan-config and --vqgan-checkpoint together" in err
