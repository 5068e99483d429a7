"""The full-size synthetic raw root: every converter makes exactly what expected.json says, to the record."""

from __future__ import annotations

import collections
import hashlib
import json
from pathlib import Path

import pytest

import converters
from converters.__main__ import main
from converters.base import DatasetRoot
from converters.fakeroot import ORDER, DistinctPainter, make_root
from converters.fakes import keys
from schemas import FaceRecord, Filtered

SCALE = 0.0005
IMAGES = (".jpg", ".png")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fakeroot")
    assert main(["fake-root", str(out), "--scale", str(SCALE), "--seed", "3"]) == 0
    return out


def outcomes(root: Path, key: str) -> dict[str, object]:
    siblings = {p.name: str(p) for p in root.iterdir() if p.is_dir()}
    got: dict[str, object] = {"read": 0, "written": 0, "pairs": 0}
    filtered: collections.Counter[str] = collections.Counter()
    rejected: collections.Counter[str] = collections.Counter()
    for outcome in converters.get(key).records(DatasetRoot(str(root / key), key, siblings)):
        got["read"] += 1  # type: ignore[operator]
        if isinstance(outcome, FaceRecord):
            outcome.validate()
            got["written"] += 1  # type: ignore[operator]
            got["pairs"] += len(outcome.texts)  # type: ignore[operator]
        elif isinstance(outcome, Filtered):
            filtered[outcome.reason] += 1
        else:
            rejected[outcome.reason] += 1
    return got | {"filtered": dict(sorted(filtered.items())), "rejected": dict(sorted(rejected.items()))}


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("key", ORDER)
def test_converter_makes_the_expected_counts(root: Path, key: str) -> None:
    expected = json.loads((root / "expected.json").read_text())["datasets"][key]
    assert expected["read"] >= 24 and expected["written"] > 0 and expected["rejected"]
    assert expected["read"] == expected["written"] + sum(expected["filtered"].values()) + sum(expected["rejected"].values())
    assert outcomes(root, key) == expected


def test_every_dataset_is_written_at_scale(root: Path) -> None:
    expected = json.loads((root / "expected.json").read_text())
    assert sorted(expected["datasets"]) == sorted(converters.available()) == keys()
    assert expected["datasets"]["imdb_wiki"]["read"] > expected["datasets"]["fairface"]["read"]  # real proportions
    assert expected["datasets"]["affectnet"]["filtered"]["non-face"] > 0


def test_every_picture_is_distinct(root: Path) -> None:
    pictures = {k: v for k, v in digests(root).items() if k.lower().endswith(IMAGES)}
    assert len(pictures) > 900
    assert len(set(pictures.values())) == len(pictures)


def test_same_scale_and_seed_same_bytes(root: Path, tmp_path: Path) -> None:
    make_root(tmp_path / "a", SCALE, seed=3, workers=1, only=["rafdb", "celeba_text_hq"])
    again = digests(tmp_path / "a")
    first = {k: v for k, v in digests(root).items() if k.split("/")[0] in ("rafdb", "celeba_text_hq", "mm_celeba_hq")}
    assert {k: v for k, v in again.items() if k != "expected.json"} == first
    make_root(tmp_path / "b", SCALE, seed=4, workers=1, only=["rafdb"])
    assert digests(tmp_path / "b")["rafdb/EmoLabel/list_patition_label.txt"] != first["rafdb/EmoLabel/list_patition_label.txt"]


def test_pool_and_inline_painting_write_the_same_bytes(tmp_path: Path) -> None:
    make_root(tmp_path / "inline", 0.02, seed=1, workers=1, only=["rafdb"])
    make_root(tmp_path / "pool", 0.02, seed=1, workers=2, only=["rafdb"])  # 300 jobs: below the pool threshold
    from converters.fakeroot import core
    old, core.Context.PARALLEL_FROM = core.Context.PARALLEL_FROM, 1
    try:
        make_root(tmp_path / "forked", 0.02, seed=1, workers=2, only=["rafdb"])
    finally:
        core.Context.PARALLEL_FROM = old
    assert digests(tmp_path / "inline") == digests(tmp_path / "pool") == digests(tmp_path / "forked")


class RecordingPainter(DistinctPainter):
    """The default painter, noting the labels it is given per dataset."""

    def __init__(self) -> None:
        self.seen: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

    def face(self, dataset, labels, rng, size):  # type: ignore[no-untyped-def]
        self.seen[dataset][json.dumps(dict(labels), sort_keys=True)] += 1
        return super().face(dataset, labels, rng, size)


ATTRIBUTE_DATASETS = ("celeba", "fs2k", "affectnet", "rafdb", "cacd", "afad", "imdb_wiki", "fairface")


def test_painter_gets_the_labels_the_converter_emits(tmp_path: Path) -> None:
    painter = RecordingPainter()
    make_root(tmp_path, SCALE, seed=2, painter=painter, workers=1, only=ATTRIBUTE_DATASETS)
    siblings = {p.name: str(p) for p in tmp_path.iterdir() if p.is_dir()}
    for key in ATTRIBUTE_DATASETS:
        emitted = collections.Counter(
            json.dumps(dict(o.labels), sort_keys=True)
            for o in converters.get(key).records(DatasetRoot(str(tmp_path / key), key, siblings))
            if isinstance(o, FaceRecord)
        )
        assert emitted and not emitted - painter.seen[key], key  # every written record's labels were painted


def test_distinct_pictures_are_not_near_duplicates_to_the_perceptual_hash() -> None:
    # the fake root's faces feed the near-duplicate detector at scale: pictures that differ only in colour
    # and fine detail hash a few bits apart and would all cluster (236,820 false pairs at F=0.01 before the
    # painter's smooth light field); 400 faces at the root's sizes, JPEG'd and preprocessed as a build does
    import io

    import numpy as np
    from PIL import Image

    from model.tokenizers.faces import decode_face
    from pipeline.neardup import DEFAULT_THRESHOLD, face_hash

    painter, hashes = DistinctPainter(), []
    for i in range(400):
        picture = painter.face("celeba", {}, np.random.default_rng([0, 3, i]), (48 + i % 33, 56 + i % 29))
        buf = io.BytesIO()
        Image.fromarray(picture).save(buf, format="JPEG", quality=90)
        hashes.append(face_hash(decode_face(buf.getvalue())))
    values = np.array(hashes, dtype=np.uint64)
    distances = np.bitwise_count(values[:, None] ^ values[None, :])[np.triu_indices(len(values), 1)]
    assert int(distances.min()) > 2 * DEFAULT_THRESHOLD, np.sort(distances)[:10]
