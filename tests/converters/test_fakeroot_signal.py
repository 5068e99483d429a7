"""`fake-root --signal`: faces drawn from their labels, captions of the face drawn, the same expected counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import converters
from converters.__main__ import main
from converters.base import DatasetRoot
from converters.fakeroot import ORDER
from converters.fakeroot.core import image_rng
from converters.fakeroot.signal import SignalPainter
from converters.fakes.signal import HAIR_WORDS, dialog_levels, read_back, spec_from_labels
from model.tokenizers.faces import load_face
from schemas import FaceRecord, parse_attributes
from tests.converters.test_fakeroot import outcomes

SCALE = 0.0005


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("signalroot")
    assert main(["fake-root", str(out), "--scale", str(SCALE), "--seed", "5", "--signal", "--workers", "1"]) == 0
    return out


def records(root: Path, key: str) -> list[FaceRecord]:
    siblings = {p.name: str(p) for p in root.iterdir() if p.is_dir()}
    return [o for o in converters.get(key).records(DatasetRoot(str(root / key), key, siblings)) if isinstance(o, FaceRecord)]


@pytest.mark.parametrize("key", ORDER)
def test_expected_counts_hold_with_the_signal_painter(root: Path, key: str) -> None:
    expected = json.loads((root / "expected.json").read_text())["datasets"][key]
    assert outcomes(root, key) == expected


def _face(root: Path, record: FaceRecord) -> np.ndarray:
    """The record's face as the pipeline preprocesses it (box plus margin, squared, 256x256)."""
    path = Path(record.source_path)
    return load_face(str(path if path.is_absolute() else root / path), record.box)


def test_celeba_faces_show_their_labels(root: Path) -> None:
    checked = agree = 0
    for record in records(root, "celeba")[:40]:
        labels = record.labels
        seen = read_back(_face(root, record))
        checked += 1
        agree += seen["smiling"] == labels["smiling"] and seen["eyeglasses"] == labels["eyeglasses"]
    assert agree >= 0.8 * checked, (agree, checked)


def test_affectnet_boxes_hold_the_whole_head(root: Path) -> None:
    smiles = []
    for record in records(root, "affectnet")[:40]:
        assert record.box is not None
        seen = read_back(_face(root, record))
        assert seen["found"]
        smiles.append(seen["smiling"] == (record.labels["expression"] == "happy"))
    assert np.mean(smiles) >= 0.8


def test_celeba_dialog_describes_celebas_own_pictures(root: Path) -> None:
    celeba = {r.source_path.rsplit("/", 1)[-1]: r for r in records(root, "celeba")}
    painter, checked = SignalPainter(), 0
    for record in records(root, "celeba_dialog")[:30]:
        name = record.source_path.rsplit("/", 1)[-1]
        if name not in celeba:
            continue
        index = int(name.split(".")[0]) - 1
        spec = spec_from_labels("celeba", celeba[name].labels, image_rng(5, "celeba", index))
        assert painter.spec("celeba", celeba[name].labels, image_rng(5, "celeba", index)) == spec
        if record.labels:
            assert {k: int(v) for k, v in record.labels.items()} == dialog_levels(spec)  # type: ignore[call-overload]
        caption = " ".join(t.text for t in record.texts if t.kind == "caption").lower()
        assert ("no eyeglasses" in caption or "no glasses" in caption) != spec.eyeglasses, caption
        checked += 1
    assert checked >= 10


def test_caption_datasets_name_the_drawn_hair(root: Path) -> None:
    for key in ("ffhq_text", "mm_celeba_hq", "celeba_text_hq"):
        named = 0
        rows = records(root, key)[:30]
        for record in rows:
            text = " ".join(t.text for t in record.texts if t.kind == "caption").lower()
            named += any(word in text for words in HAIR_WORDS.values() for word in words) or "bald" in text or "no hair" in text
        assert rows and named == len(rows), key


def test_attribute_texts_parse(root: Path) -> None:
    for record in records(root, "cacd")[:5]:
        for text in record.texts:
            if text.kind == "attributes":
                assert "age" in parse_attributes(text.text)[1]
