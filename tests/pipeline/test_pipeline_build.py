"""End-to-end builds on the in-process DirectRunner: the outputs of DESIGN.md 3.4-3.5 and their guarantees."""

from __future__ import annotations

import io
import json
import tarfile
from collections import Counter

import numpy as np
import pytest
import webdataset as wds

import beam_runner
from converters.testing import convert
from model.tokenizers.faces import encode_jpeg, load_face
from pipeline import AccountingError, verify_build
from pipeline.verify import read_manifest_parts
from schemas import FaceRecord, Filtered, Reject, ShardSample, most_held_out, sample_key


def shard_samples(path) -> list[ShardSample]:
    with tarfile.open(path) as tar:
        fields: dict[str, dict] = {}
        for m in tar.getmembers():
            key, _, ext = m.name.partition(".")
            fields.setdefault(key, {"__key__": key})[ext] = tar.extractfile(m).read()
    return [ShardSample.from_wds(f) for f in fields.values()]


def expected_outcomes(root, datasets) -> dict[str, list]:
    return {key: convert(key, root) for key in datasets}


def test_stats_account_for_every_record(reference, kit):
    stats = reference.full.report.stats
    for key, outcomes in expected_outcomes(reference.root, kit.DATASETS).items():
        d = stats["datasets"][key]
        kinds = Counter(type(o).__name__ for o in outcomes)
        assert d["read"] == len(outcomes)
        assert d["written"] == kinds["FaceRecord"]
        assert d["filtered"] == dict(Counter(o.reason for o in outcomes if isinstance(o, Filtered)))
        assert d["rejected"] == dict(Counter(o.reason for o in outcomes if isinstance(o, Reject)))
        assert d["pairs"] == sum(len(o.texts) for o in outcomes if isinstance(o, FaceRecord))
        assert d["read"] == d["written"] + d["filtered_total"] + d["rejected_total"]
    assert stats["accounting"] == {"ok": True, "problems": []}


def test_shards_hold_unique_faces_with_all_their_texts(reference, kit):
    samples = [s for url in reference.full.report.shards for s in shard_samples(url)]
    keys = [s.key for s in samples]
    assert len(keys) == len(set(keys)) == reference.full.report.stats["totals"]["samples"]
    records = [o for outs in expected_outcomes(reference.root, kit.DATASETS).values() for o in outs if isinstance(o, FaceRecord)]
    by_key: dict[str, list[FaceRecord]] = {}
    for record in records:
        by_key.setdefault(sample_key(load_face(record.image, record.box)), []).append(record)
    assert set(by_key) == set(keys)
    shared = [k for k, rs in by_key.items() if len({r.dataset for r in rs}) > 1]
    assert shared, "CelebA and CelebA-Dialog share faces in the fake data"
    for sample in samples:
        recs = sorted(by_key[sample.key], key=lambda r: (r.dataset, r.source_id))
        assert [(t.dataset, t.text) for t in sample.texts] == [(r.dataset, t.text) for r in recs for t in r.texts]
        assert [(s.dataset, s.source_id, s.split) for s in sample.sources] == [(r.dataset, r.source_id, r.split) for r in recs]
        assert sample.split == most_held_out([r.split for r in recs])
        assert sample.tokens.dtype == np.uint16 and sample.tokens.shape == (256,)
    conflicts = sum(1 for rs in by_key.values() if len({r.split for r in rs}) > 1)
    assert reference.full.report.stats["split_conflicts"] == conflicts


def test_shard_layout_is_deterministic_and_full(reference, kit):
    names = [u.rsplit("/", 1)[-1] for u in reference.full.report.shards]
    stats = reference.full.report.stats
    for split, v in stats["splits"].items():
        mine = sorted(n for n in names if n.startswith(f"{split}-"))
        assert mine == [f"{split}-{i:06d}.tar" for i in range(v["shards"])]
        sizes = [len(shard_samples(reference.out / "shards" / n)) for n in mine]
        assert sizes[:-1] == [kit.PER_SHARD] * (len(sizes) - 1) and 0 < sizes[-1] <= kit.PER_SHARD
        keys = [s.key for n in mine for s in shard_samples(reference.out / "shards" / n)]
        assert keys == sorted(keys)  # sorted within and across the shards of a split
    with tarfile.open(reference.full.report.shards[0]) as tar:
        for m in tar.getmembers():
            assert (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (0, 0, 0, "", "", 0o644)


def test_shards_read_with_webdataset(reference):
    url = reference.full.report.shards[0]
    samples = list(wds.WebDataset(url, shardshuffle=False))
    assert samples and all({"__key__", "tokens.npy", "json"} <= set(s) for s in samples)
    tokens = np.load(io.BytesIO(samples[0]["tokens.npy"]), allow_pickle=False)
    assert tokens.dtype == np.uint16 and tokens.shape == (256,)


def test_manifest_has_one_row_per_text(reference):
    table, parts = read_manifest_parts(str(reference.out))
    assert sorted(parts) == sorted(u.rsplit("/", 1)[-1].removesuffix(".tar") for u in reference.full.report.shards)
    rows = table.to_pylist()
    stats = reference.full.report.stats
    assert Counter(r["dataset"] for r in rows) == {k: d["pairs"] for k, d in stats["datasets"].items()}
    samples = {s.key: s for url in reference.full.report.shards for s in shard_samples(url)}
    for row in rows:
        sample = samples[row["key"]]
        assert row["split"] == sample.split and row["shard"].startswith(sample.split)
        assert (row["dataset"], row["kind"], row["text"]) in {(t.dataset, t.kind, t.text) for t in sample.texts}
        assert isinstance(json.loads(row["labels"]), dict)


def test_rejects_are_sorted_and_name_the_source(reference, kit):
    for key in kit.DATASETS:
        path = reference.out / "rejects" / f"{key}.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert rows == sorted(rows, key=lambda r: (r["source_id"], r["source_path"], r["reason"], r["detail"]))
        assert all(set(r) == {"dataset", "source_id", "source_path", "reason", "detail"} for r in rows)
        assert all(r["dataset"] == key and r["source_path"].startswith(key) for r in rows)
    celeba = (reference.out / "rejects" / "celeba.jsonl").read_text()
    assert "malformed line" in celeba and "expected 41 fields" in celeba  # a malformed annotation line


def test_incremental_rebuild_encodes_only_new_faces(reference):
    first, full = reference.first.report.stats, reference.full.report.stats
    assert first["tokens"]["encoded"] == first["totals"]["samples"] and first["tokens"]["cached"] == 0
    assert full["tokens"]["cached"] == first["totals"]["samples"]  # FairFace's faces, from the cache
    assert full["tokens"]["encoded"] == full["totals"]["samples"] - first["totals"]["samples"]
    assert reference.full.metrics["TokenizeFaces.encoded"] == full["tokens"]["encoded"]
    (fingerprint,) = full["tokens"]["fingerprints"]
    assert (reference.cache / fingerprint).is_dir()


def test_rerun_is_byte_identical(reference, kit, tmp_path):
    cache, _ = kit.copy_cache(reference.cache, tmp_path / "cache")
    out = tmp_path / "out"
    kit.build(reference.root, out, cache=str(cache))
    (out / "shards" / "stale-000009.tar").write_bytes(b"left over from an older build")
    again = kit.build(reference.root, out, cache=str(cache))  # into the same folder: old outputs go first
    assert again.report.stats["tokens"]["encoded"] == 0
    assert kit.outputs(out, "shards", "manifest", "rejects") == reference.files("shards", "manifest", "rejects")


def test_keep_images_stores_the_preprocessed_jpeg(reference, kit, tmp_path):
    cache, _ = kit.copy_cache(reference.cache, tmp_path / "cache")
    result = kit.build(reference.root, tmp_path / "out", cache=str(cache), keep_images=True, datasets=("fairface",))
    samples = [s for url in result.report.shards for s in shard_samples(url)]
    assert samples and all(s.jpg is not None for s in samples)
    record = next(o for o in convert("fairface", reference.root) if isinstance(o, FaceRecord))
    pixels = load_face(record.image)
    sample = next(s for s in samples if s.key == sample_key(pixels))
    assert sample.jpg == encode_jpeg(pixels)
    assert result.report.stats["tokens"]["encoded"] == 0  # codes still from the cache


def test_memory_filesystem_in_process(reference, kit, tmp_path):
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.put(str(reference.root), "/raw-p5", recursive=True)
    cache, _ = kit.copy_cache(reference.cache, tmp_path / "cache")
    result = kit.build("memory://raw-p5", "memory://out-p5", cache=str(cache))
    assert kit.outputs("memory://out-p5", "shards", "manifest") == reference.files("shards", "manifest")
    assert result.report.stats["datasets"] == reference.full.report.stats["datasets"]


def test_cli_skips_missing_folders_and_rejects_unknown_keys(reference, kit, tmp_path, capsys):
    cache, _ = kit.copy_cache(reference.cache, tmp_path / "cache")
    result = beam_runner.run([
        "--input-root", str(reference.root), "--output", str(tmp_path / "out"), "--vqgan-preset", "tiny-random",
        "--datasets", "fairface,afad", "--samples-per-shard", "4", "--token-cache", str(cache), "--limit", "5",
    ])
    assert result.report.stats["build"]["skipped_datasets"] == ["afad"]
    assert result.report.stats["datasets"]["fairface"]["read"] == 5
    assert "fairface" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        beam_runner.parse_args(["--input-root", str(reference.root), "--output", "x", "--vqgan-preset",
                                "tiny-random", "--datasets", "celeba,nosuchset"])
    err = capsys.readouterr().err
    assert "nosuchset" in err and "celeba_dialog" in err  # the known keys are listed


def test_verify_catches_a_lost_shard_and_a_missing_stats_file(reference, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(reference.out, out)
    verify_build(str(out))
    victim = sorted((out / "shards").glob("train-*.tar"))[0]
    victim.unlink()  # a shard lost, its manifest part still there
    with pytest.raises(AccountingError, match="the manifest and the shards disagree on"):
        verify_build(str(out))
    (out / "manifest" / victim.name.replace(".tar", ".parquet")).unlink()  # both lost
    with pytest.raises(AccountingError, match=r"dataset \w+ \(the outputs\): read \d+ records but written \d+ \+"):
        verify_build(str(out))
    (out / "stats.json").unlink()
    with pytest.raises(AccountingError, match="stats.json was not written"):
        verify_build(str(out))
