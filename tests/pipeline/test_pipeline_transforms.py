"""The pipeline's steps one at a time, with TestPipeline and exact assert_that."""

from __future__ import annotations

import io
import json
import random
import shutil

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from converters.testing import convert
from model.tokenizers.faces import load_face
from pipeline.dedupe import DedupeByContent
from pipeline.load import LoadFaces
from pipeline.read import SplitByType
from pipeline.report import WriteStats, build_stats
from pipeline.samples import Sample
from pipeline.shards import AssignShards
from schemas import Box, FaceRecord, Filtered, Reject, Text, sample_key


def record(dataset: str, source_id: str, split: str = "train", image: str = "x.jpg", box: Box | None = None) -> FaceRecord:
    return FaceRecord(dataset, source_id, image, f"{dataset}/{source_id}", split, {},
                      (Text("caption", f"{dataset} {source_id}"),), box)


def test_split_by_type():
    items = [record("a", "1"), Filtered("a", "2", "a/2", "no caption"), Reject("a", "3", "a/3", "malformed line"),
             record("b", "4")]
    with BeamTestPipeline() as p:
        parts = p | beam.Create(items) | SplitByType(records=FaceRecord, filtered=Filtered, rejects=Reject)
        assert_that(parts["records"], equal_to([items[0], items[3]]), label="records")
        assert_that(parts["filtered"], equal_to([items[1]]), label="filtered")
        assert_that(parts["rejects"], equal_to([items[2]]), label="rejects")


def summary(sample: Sample) -> tuple:
    return sample.key, sample.split, tuple((r.dataset, r.source_id) for r in sample.records), sample.split_conflict


def test_dedupe_merges_records_in_order_and_takes_the_most_held_out_split():
    faces = [
        ("k1", record("mm_celeba_hq", "7", "test")),
        ("k1", record("celeba", "000001.jpg", "train")),
        ("k1", record("celeba", "000000.jpg", "val")),
        ("k2", record("fairface", "val/1.jpg", "val")),
    ]
    with BeamTestPipeline() as p:
        samples = p | beam.Create(faces) | DedupeByContent() | beam.Map(summary)
        assert_that(samples, equal_to([
            ("k1", "test", (("celeba", "000000.jpg"), ("celeba", "000001.jpg"), ("mm_celeba_hq", "7")), True),
            ("k2", "val", (("fairface", "val/1.jpg"),), False),
        ]))


def random_samples(n_per_split: dict[str, int], seed: int = 0) -> list[Sample]:
    rng = random.Random(seed)
    return [Sample(f"{rng.getrandbits(128):032x}", split, (record("d", f"{split}{i}", split),))
            for split, n in n_per_split.items() for i in range(n)]


@pytest.mark.parametrize("order", ["given", "reversed"])
def test_assign_shards_cuts_each_split_into_full_shards_in_key_order(order):
    samples = random_samples({"train": 13, "val": 7, "test": 3})
    expected = []
    for split in ("train", "val", "test"):
        keys = sorted(s.key for s in samples if s.split == split)
        expected += [(k, f"{split}-{i // 5:06d}") for i, k in enumerate(keys)]
    with BeamTestPipeline() as p:
        given = samples if order == "given" else samples[::-1]
        shards = p | beam.Create(given) | AssignShards(5) | beam.Map(lambda s: (s.key, s.shard))
        assert_that(shards, equal_to(expected))


def write_image(path, img: Image.Image | None = None, data: bytes | None = None, fmt: str = "PNG") -> str:
    if data is None:
        buf = io.BytesIO()
        img.save(buf, format=fmt)
        data = buf.getvalue()
    path.write_bytes(data)
    return str(path)


def test_load_faces_turns_every_bad_file_into_a_reject(tmp_path):
    face = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8))
    good = write_image(tmp_path / "good.png", face)
    jpeg = io.BytesIO()
    face.save(jpeg, format="JPEG")
    cases = {
        "good": (good, None, None),
        "boxed": (good, Box(10, 5, 30, 35), None),
        "truncated": (write_image(tmp_path / "t.jpg", data=jpeg.getvalue()[:300]), None, "unreadable image"),
        "zero": (write_image(tmp_path / "z.jpg", data=b""), None, "unreadable image"),
        "text": (write_image(tmp_path / "n.jpg", data=b"not an image\n"), None, "unreadable image"),
        "tiny": (write_image(tmp_path / "s.png", Image.new("RGB", (12, 12))), None, "image too small"),
        "huge": (write_image(tmp_path / "h.png", Image.new("RGB", (80, 80))), None, "image too large"),
        "outside": (good, Box(100, 100, 120, 120), "bad face box"),
        "missing": (str(tmp_path / "gone.jpg"), None, "image missing"),
    }
    records = [record("d", name, image=url, box=box) for name, (url, box, _) in cases.items()]
    with BeamTestPipeline() as p:
        loaded = p | beam.Create(records) | LoadFaces(max_pixels=5000)
        assert_that(loaded["rejects"] | beam.Map(lambda r: (r.source_id, r.reason)),
                    equal_to([(n, why) for n, (_, _, why) in cases.items() if why]), label="rejects")
        assert_that(loaded["faces"] | beam.MapTuple(lambda key, r: (r.source_id, key)),
                    equal_to([("good", sample_key(load_face(good))),
                              ("boxed", sample_key(load_face(good, Box(10, 5, 30, 35))))]), label="faces")


def test_write_stats_fails_the_build_when_records_are_lost(tmp_path):
    tallies = [(("datasets", "x", "read"), 5), (("datasets", "x", "written"), 3),
               (("datasets", "x", "rejected", "image missing"), 1), (("datasets", "x", "pairs"), 3),
               (("datasets", "x", "pairs_in_shards"), 3)]
    lost = r"dataset x: read 5 records but written 3 \+ filtered 0 \+ rejected 1 = 4 \(\+1"
    with pytest.raises(Exception, match=lost), BeamTestPipeline() as p:
        _ = p | beam.Create(tallies) | WriteStats(str(tmp_path), {"datasets": ["x"]})
    stats = json.loads((tmp_path / "stats.json").read_text())  # written all the same, for the post-mortem
    assert stats["accounting"]["ok"] is False and "dataset x" in stats["accounting"]["problems"][0]


def test_build_stats_totals():
    stats = build_stats({("datasets", "a", "read"): 3, ("datasets", "a", "written"): 2,
                         ("datasets", "a", "filtered", "no caption"): 1, ("datasets", "a", "pairs"): 4,
                         ("datasets", "a", "pairs_in_shards"): 4, ("splits", "train", "samples"): 2,
                         ("splits", "train", "shards"): 1, ("tokens", "encoded"): 2}, {})
    assert stats["totals"] == {"read": 3, "written": 2, "pairs": 4, "filtered_total": 1, "rejected_total": 0,
                               "samples": 2, "shards": 1}
    assert stats["accounting"]["ok"]


def test_bad_images_in_a_dataset_become_rejects_and_the_build_completes(raw_root, kit, tmp_path):
    root = tmp_path / "raw"
    shutil.copytree(raw_root / "celeba", root / "celeba")
    images = root / "celeba" / "Img" / "img_align_celeba"
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 255, (109, 89, 3), dtype=np.uint8)
    good = (images / "000001.jpg").read_bytes()
    Image.fromarray(pixels[..., 0]).save(images / "000001.jpg", format="PNG")  # grayscale, PNG under .jpg
    (images / "000002.jpg").write_bytes(good[: len(good) // 3])  # truncated
    (images / "000003.jpg").write_bytes(b"")  # zero bytes
    (images / "000004.jpg").write_bytes(b"<html>not found</html>")  # not an image
    Image.fromarray(pixels).convert("CMYK").save(images / "000008.jpg", format="JPEG")
    Image.fromarray(np.dstack([pixels, pixels[..., :1]])).save(images / "000009.jpg", format="PNG")  # RGBA
    Image.fromarray(pixels[..., 0].astype(np.uint16) * 200).save(images / "000010.jpg", format="PNG")  # 16-bit
    Image.new("RGB", (300, 300)).save(images / "000011.jpg", format="JPEG")  # over the bomb limit below
    result = kit.build(root, tmp_path / "out", datasets=("celeba",), max_pixels=50_000, cache=None)
    d = result.report.stats["datasets"]["celeba"]
    assert d["rejected"] == {"malformed line": 1, "unknown label": 1, "image missing": 1, "no split": 1,  # converter
                             "unreadable image": 3, "image too large": 1}  # LoadFaces
    assert d["written"] == 4 and d["read"] == 12
    rows = [json.loads(line) for line in (tmp_path / "out" / "rejects" / "celeba.jsonl").read_text().splitlines()]
    unreadable = sorted(r["source_id"] for r in rows if r["reason"] == "unreadable image")
    assert unreadable == ["000002.jpg", "000003.jpg", "000004.jpg"]
    written = {o.source_id for o in convert("celeba", root) if isinstance(o, FaceRecord)} - set(unreadable) - {"000011.jpg"}
    assert written == {"000001.jpg", "000008.jpg", "000009.jpg", "000010.jpg"}
