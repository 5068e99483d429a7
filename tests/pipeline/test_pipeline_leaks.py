"""No photo on both sides of a split: photo ids through the CelebA-HQ mapping, near-duplicates, split policies.

Two real builds on the DirectRunner over fake CelebA, MM-CelebA-HQ and FairFace, where FairFace's
train image 1 is replaced by a re-encoded, enlarged copy of CelebA's test image 000010.jpg. In the
fake mapping CelebA-HQ image 8 (MM-CelebA-HQ test) is CelebA's 000004.jpg (CelebA train).
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from converters.celeba_hq_mapping import parse_mapping
from converters.fakes import fake_face, make_all
from converters.fakes.mm_celeba_hq import MAPPING_FILE
from model.tokenizers.faces import decode_face
from pipeline.config import DatasetSpec
from pipeline.leaks import (
    LEAKS_FILE,
    NO_MAPPING,
    LinkPhotoIds,
    load_identities,
    load_mapping,
    resolve_clusters,
)
from pipeline.neardup import UnionFind, band_keys, bands_for, close_pairs, face_hash, hamming
from schemas import FaceRecord, Text, read_manifest

DATASETS = ("celeba", "fairface", "mm_celeba_hq")


def planted_root(root: Path) -> Path:
    make_all(root, only=DATASETS)
    original = Image.open(root / "celeba" / "Img" / "img_align_celeba" / "000010.jpg")
    copy = original.resize((original.width * 3 // 2, original.height * 3 // 2), Image.Resampling.BICUBIC)
    copy.save(root / "fairface" / "train" / "1.jpg", format="JPEG", quality=60)
    return root


@pytest.fixture(scope="module")
def builds(tmp_path_factory, kit):
    root = planted_root(tmp_path_factory.mktemp("leaks-raw"))
    base = tmp_path_factory.mktemp("leaks")
    cache = str(base / "cache")
    merged = kit.build(root, base / "merge", datasets=DATASETS, cache=cache)
    reported = kit.build(root, base / "report", datasets=DATASETS, cache=cache, split_policy="report")
    return {"merge": base / "merge", "report": base / "report", "results": (merged, reported)}


def rows(out: Path) -> dict[tuple[str, str], dict]:
    return {(r["dataset"], r["source_id"]): r for r in read_manifest(str(out / "manifest")).to_pylist()}


def stats(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


def test_celeba_hq_test_image_pulls_its_celeba_original_into_test(builds):
    by = rows(builds["merge"])
    hq, original = by[("mm_celeba_hq", "8")], by[("celeba", "000004.jpg")]
    assert hq["photo_id"] == original["photo_id"] == "celeba:000004.jpg"
    assert hq["split"] == original["split"] == "test"
    assert original["person_id"].startswith("celeba:")
    assert hq["person_id"] == original["person_id"]  # inherited through the mapping and CelebA's identity file
    s = stats(builds["merge"])
    celeba = s["datasets"]["celeba"]
    moved = [r for (d, _), r in by.items() if d == "celeba" and r["split"] != "train"]
    assert celeba["moved"]["same_photo"] >= 1
    assert celeba["moved_to_held_out_split"] == sum(celeba["moved"].values())
    assert s["datasets"]["mm_celeba_hq"]["photo_links"]["linked"] == 9
    assert s["build"]["celeba_hq_mapping"]["file"].endswith(MAPPING_FILE)
    assert moved, "some CelebA train record must have moved"


def test_a_near_duplicate_across_datasets_shares_the_held_out_split(builds):
    by = rows(builds["merge"])
    copy, original = by[("fairface", "train/1.jpg")], by[("celeba", "000010.jpg")]
    assert copy["key"] != original["key"]  # not byte-identical faces
    assert copy["split"] == original["split"] == "test"
    s = stats(builds["merge"])
    assert s["datasets"]["fairface"]["moved"] == {"near_duplicate": 1}
    assert s["near_duplicates"]["pairs"] == 1  # and no distinct fake face merged
    clusters = [json.loads(line) for line in (builds["merge"] / LEAKS_FILE).read_text().splitlines()]
    (near,) = [c for c in clusters if any(e[2] == "near_duplicate" for e in c["edges"])]
    assert {copy["key"], original["key"]} <= {m["key"] for m in near["members"]}  # with CelebA-HQ 2, the same photo
    assert [e[2] for e in near["edges"] if copy["key"] in e[:2]] == ["near_duplicate"]


def test_report_policy_keeps_official_splits_and_counts_the_leaks(builds):
    by = rows(builds["report"])
    assert by[("celeba", "000004.jpg")]["split"] == "train"
    assert by[("mm_celeba_hq", "8")]["split"] == "test"
    assert by[("fairface", "train/1.jpg")]["split"] == "train"
    s = stats(builds["report"])
    assert s["leaks"]["policy"] == "report"
    assert s["datasets"]["fairface"]["leaking"] == {"near_duplicate": 1}
    assert s["datasets"]["celeba"]["leaking"]["same_photo"] >= 1
    assert "same_photo" not in s["datasets"]["celeba"]["moved"]
    assert s["leaks"]["clusters_across_splits"] == stats(builds["merge"])["leaks"]["clusters_across_splits"]


# --------------------------------------------------------------------------- the parts


def test_mapping_rows_are_refused_with_reasons_never_raised():
    text = (
        "idx         orig_idx    orig_file\n"
        "0           119613      119614.jpg\n"
        "1           99094       099095.jpg  1e2d301e9b3d1b64b2e560243b5c109c  c391ae358c1a00e715982050b6446109\n"
        "2           5\n"
        "x           5           000006.jpg\n"
        "3           202599      202600.jpg\n"
        "30000       1           000002.jpg\n"
        "4           7           000007.jpg\n"
        "0           8           000009.jpg\n"
        "\n"
    )
    mapping = parse_mapping(text, "m.txt")
    assert mapping.originals == {"0": "119614.jpg", "1": "099095.jpg"}
    assert mapping.bad_rows == {"malformed row": 2, "index out of range": 2,
                                "file name disagrees with orig_idx": 1, "duplicate idx": 1}
    assert mapping.examples[0].startswith("m.txt line 4: malformed row")


def _hq_record(idx: str) -> FaceRecord:
    return FaceRecord("mm_celeba_hq", idx, "x.jpg", f"mm_celeba_hq/image/{idx}.jpg", "test", {},
                      (Text("caption", "She smiles."),), photo_id=f"celeba_hq:{idx}")


def test_link_photo_ids_counts_missing_mapping_and_missing_rows(tmp_path):
    mapping, summary = load_mapping(None)
    assert mapping is None and summary["file"] is None and "not linked" in summary["note"]
    with BeamTestPipeline() as p:
        records = p | beam.Create([_hq_record("0"), _hq_record("5")])
        linked = records | "Linked" >> beam.ParDo(LinkPhotoIds({"0": "000012.jpg"}))
        unlinked = records | "NoMapping" >> beam.ParDo(LinkPhotoIds(None))
        assert_that(linked | "Ids" >> beam.Map(lambda x: getattr(x, "photo_id", x)), equal_to([
            "celeba:000012.jpg", "celeba_hq:5",
            (("datasets", "mm_celeba_hq", "photo_links", "linked"), 1),
            (("datasets", "mm_celeba_hq", "photo_links", "index not in mapping"), 1)]), label="linked")
        assert_that(unlinked | "Tallies" >> beam.Filter(lambda x: isinstance(x, tuple)), equal_to(
            [(("datasets", "mm_celeba_hq", "photo_links", NO_MAPPING), 1)] * 2), label="unlinked")


def test_linked_records_inherit_the_person_id_of_their_celeba_original(tmp_path):
    (tmp_path / "celeba" / "Anno").mkdir(parents=True)
    (tmp_path / "celeba" / "Anno" / "identity_CelebA.txt").write_text("000012.jpg 2880\n000013.jpg x\n000014.jpg 7\n")
    persons, found = load_identities([DatasetSpec("celeba", str(tmp_path / "celeba"))], ["000012.jpg", "000013.jpg"])
    assert persons == {"000012.jpg": "2880"} and found and found.endswith("Anno/identity_CelebA.txt")
    assert load_identities([DatasetSpec("fairface", str(tmp_path / "fairface"))], ["000012.jpg"]) == ({}, None)
    known = replace(_hq_record("1"), person_id="celeba_hq:own")
    with BeamTestPipeline() as p:
        records = p | beam.Create([_hq_record("0"), _hq_record("5"), known])
        linked = records | beam.ParDo(LinkPhotoIds({"0": "000012.jpg", "5": "000099.jpg", "1": "000012.jpg"}, persons))
        assert_that(linked | beam.Filter(lambda x: isinstance(x, FaceRecord)) | beam.Map(lambda r: r.person_id),
                    equal_to(["celeba:2880", "", "celeba_hq:own"]))


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def test_face_hash_keeps_copies_close_and_distinct_faces_apart():
    faces = [fake_face(300 + i, (80, 96)) for i in range(40)]
    hashes = [face_hash(decode_face(_jpeg(f, 90))) for f in faces]
    for face, h in zip(faces, hashes, strict=True):
        half = face.resize((40, 48), Image.Resampling.LANCZOS)
        assert hamming(h, face_hash(decode_face(_jpeg(half, 75)))) <= 4
        assert hamming(h, face_hash(decode_face(_jpeg(face, 40)))) <= 4
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1:]]
    assert min(distances) > 4 and np.mean(distances) > 20
    with pytest.raises(ValueError, match="divisible by 32"):
        face_hash(np.zeros((100, 100, 3), np.uint8))


def test_bands_catch_every_pair_within_the_threshold_and_hot_buckets_are_reported():
    rng = np.random.default_rng(0)
    for threshold in (2, 4, 6):
        for _ in range(200):
            a = int(rng.integers(0, 2**63)) * 2 + int(rng.integers(2))
            flips = rng.choice(64, threshold, replace=False)
            b = a ^ sum(1 << int(f) for f in flips)
            shared = set(band_keys(a, bands_for(threshold))) & set(band_keys(b, bands_for(threshold)))
            assert shared, (threshold, a, b)
    close = close_pairs([("k1", 0b1011), ("k2", 0b1000), ("k3", 7 << 40), ("k1", 0b1011)], threshold=2, max_bucket=10)
    assert close.pairs == (("k1", "k2", 2),) and close.size == 3 and not close.hot
    hot = close_pairs([(f"k{i}", i) for i in range(11)], threshold=2, max_bucket=10)
    assert hot.hot and hot.pairs == () and hot.size == 11


def test_clusters_take_the_most_held_out_split_and_name_the_cause():
    graph = [
        ("node", ("a", ("train", ("celeba",), "celeba/a.jpg"))),
        ("node", ("b", ("test", ("mm_celeba_hq",), "mm/b.jpg"))),
        ("node", ("c", ("train", ("fairface",), "fairface/c.jpg"))),
        ("node", ("d", ("val", ("expw",), "expw/d.jpg"))),
        ("node", ("e", ("train", ("expw",), "expw/e.jpg"))),
        ("edge", ("a", "b", "same_photo", 0)),
        ("edge", ("a", "c", "near_duplicate", 2)),
        ("edge", ("d", "e", "near_duplicate", 4)),
    ]
    out = list(resolve_clusters(("all", graph)))
    assignments = {x[0]: x[1] for x in out if isinstance(x, tuple) and isinstance(x[0], str)}
    assert assignments == {"a": ("test", "same_photo"), "b": ("test", "same_photo"), "c": ("test", "near_duplicate"),
                           "d": ("val", "near_duplicate"), "e": ("val", "near_duplicate")}
    lines = [x for x in out if isinstance(x, dict)]
    assert [line["cluster"] for line in lines] == ["a", "d"] and len(lines[0]["edges"]) == 2
    uf = UnionFind()
    uf.union("z", "y")
    uf.union("y", "x")
    assert uf.find("z") == "x"


def test_the_clustering_step_stops_with_a_reason_when_links_flood_it():
    from pipeline.leaks import LeakFloodError

    graph = [("node", (k, ("train", ("expw",), f"expw/{k}.jpg"))) for k in "abcd"]
    graph += [("edge", ("a", "b", "near_duplicate", 3)), ("edge", ("c", "d", "near_duplicate", 1))]
    assert len([x for x in resolve_clusters(("all", graph), limit=4) if isinstance(x, dict)]) == 2
    with pytest.raises(LeakFloodError, match=r"more than 3 samples.*4 samples, 2 pairs, 2 of them near-duplicates "
                                             r"within 4 bits.*--max-clustered-samples"):
        list(resolve_clusters(("all", graph), limit=3, threshold=4))


def test_a_build_whose_links_pass_the_limit_fails_naming_the_option(tmp_path, kit):
    root = planted_root(tmp_path / "raw")
    with pytest.raises(Exception, match="--max-clustered-samples") as failure:
        kit.build(root, tmp_path / "out", datasets=DATASETS, cache=None, max_clustered=1)
    assert "LeakFloodError" in repr(failure.value) or "FindLeaks" in str(failure.value)
    assert not (tmp_path / "out" / LEAKS_FILE).exists()


def test_a_build_without_clusters_writes_an_empty_leaks_file(tmp_path, kit):
    make_all(tmp_path / "raw", only=("fairface",))
    kit.build(tmp_path / "raw", tmp_path / "out", datasets=("fairface",), cache=None)
    assert (tmp_path / "out" / LEAKS_FILE).read_bytes() == b""
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["leaks"]["clusters"] == 0 and stats["leaks"]["lines_written"] == 0, stats["leaks"]
